# The CPU benchmark's DINO row (tools/benchmarks/distill_cpu.py): the ResNet-18 recipe scaled as the PCD rows
# (configs/pcd/cpu/): the 1000 unlabelled train images of data/cifar10_mini (32 px images), global views of 64 px,
# local ones of 27 px (DINO's 96/224 of it), batch 32, 15 epochs (2 warm-up), LARS lr 0.48 unscaled, K = 1024
# outputs, and DINO's default teacher temperature 0.04 throughout: the in1k configs' warm-up to 0.07 left this
# short run's loss at log K (facebookresearch/dino main_dino.py, --warmup_teacher_temp: "Try decreasing it if the
# training loss does not decrease").
# docs/dino_sslight.md says why and what each choice measured.
_base_ = '../dino_resnet18_8xb128-coslr-200e_in1k.py'

crop_size = 64
train_pipeline = _base_.train_pipeline
global1, global2, local = train_pipeline[1]['transforms']
for view in (global1, global2):
    view[0].update(size=crop_size)
local[0].update(size=27)

model = dict(neck=dict(out_channels=1024), head=dict(out_channels=1024))
custom_hooks = [
    dict(type='DINOHook', warmup_teacher_temp=0.04, teacher_temp=0.04, warmup_epochs=0, freeze_last_layer_epochs=1),
    dict(type='LossCurveHook')
]
train_dataloader = dict(
    batch_size=32, num_workers=2, persistent_workers=True, pin_memory=False,
    dataset=dict(type='ImageFolder', data_root='data/cifar10_mini', ann_file='', data_prefix=dict(img_path='train/'),
                 pipeline=train_pipeline))
auto_scale_lr = dict(enable=False)
warmup_epochs = 2
max_epochs = 15
warmup, cosine = param_scheduler = _base_.param_scheduler
warmup['end'] = cosine['begin'] = warmup_epochs
cosine.update(T_max=max_epochs - warmup_epochs, end=max_epochs)
train_cfg = dict(max_epochs=max_epochs)
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=max_epochs))
randomness = dict(seed=0)
