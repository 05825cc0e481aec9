# The CPU benchmark's OSS row (tools/benchmarks/distill_cpu.py): online OSS scaled as the DINO row
# (../../dino/cpu/): the 1000 unlabelled train images of data/cifar10_mini (32 px images), 2 views of 64 px and 6
# of 27 px (SwAV's 96/224 of it), batch 32, 15 epochs, LARS lr 0.6 unscaled cosine to x 1e-3 (A.1). A.1's
# epoch-counted settings keep their share of the run: the queue from epoch 2 of 15 (15 of 100), 15 batches long
# (3840 at batch 256: 480 at 32), the prototypes frozen for the first epoch (5005 iterations at batch 256).
# docs/oss.md says why.
_base_ = '../oss_resnet18-r50_4xb64-coslr-100e_in1k.py'

crop_size = 64
train_pipeline = _base_.train_pipeline
global_view, local_view = train_pipeline[1]['transforms']
global_view[0].update(size=crop_size)
local_view[0].update(size=27)

batch_size = 32
model = dict(head=dict(queue_length=15 * batch_size))
custom_hooks = [
    dict(type='OSSHook', queue_start_epoch=2, freeze_prototypes_iters=1000 // batch_size),
    dict(type='LossCurveHook')
]
train_dataloader = dict(
    batch_size=batch_size, num_workers=2, persistent_workers=True, pin_memory=False,
    dataset=dict(type='ImageFolder', data_root='data/cifar10_mini', ann_file='', data_prefix=dict(img_path='train/'),
                 pipeline=train_pipeline))
auto_scale_lr = dict(enable=False)
max_epochs = 15
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min_ratio=1e-3, by_epoch=True, begin=0, end=max_epochs,
         convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs)
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=max_epochs))
randomness = dict(seed=0)
