# The CPU distillation benchmark (tools/benchmarks/distill_cpu.py): the paper's recipe scaled to a 2-core CPU.
# Student ResNet-18 with φ (4096 hidden) and MHSA as in the paper; teacher the real ImageNet EfficientNet-Lite0;
# the 1000 unlabelled train images of data/cifar10_mini. What changes (docs/distillation_benchmark.md says why):
# resolution, batch, queue, epochs, lr (no linear scaling at batch 32), crop scale.
_base_ = '../pcd_resnet18-effnetlite0_8xb128-coslr-100e_in1k.py'

crop_size = 64
train_pipeline = _base_.train_pipeline
for view in train_pipeline[1]['transforms']:
    view[0].update(size=crop_size, scale=(0.2, 1.0))

model = dict(head=dict(queue_len=1024))

train_dataloader = dict(
    batch_size=32,
    num_workers=2,
    persistent_workers=True,
    pin_memory=False,
    dataset=dict(
        type='ImageFolder',
        data_root='data/cifar10_mini',
        ann_file='',
        data_prefix=dict(img_path='train/'),
        pipeline=train_pipeline))

optim_wrapper = dict(optimizer=dict(lr=1.0))
auto_scale_lr = dict(enable=False)
warmup_epochs = 2
max_epochs = 15
warmup, cosine = param_scheduler = _base_.param_scheduler
warmup['end'] = cosine['begin'] = warmup_epochs
cosine.update(T_max=max_epochs - warmup_epochs, end=max_epochs)
train_cfg = dict(max_epochs=max_epochs)
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=max_epochs, max_keep_ckpts=2))
custom_hooks = [dict(type='LossCurveHook')]
randomness = dict(seed=0)
