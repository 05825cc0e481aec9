# configs/benchmarks/mmsegmentation/cityscapes/fcn-bn-d6_r18-d16_90k_cityscapes.py on data/cityscapes_mini.
_base_ = ['../../configs/benchmarks/mmsegmentation/cityscapes/fcn-bn-d6_r18-d16_90k_cityscapes.py', './_short_.py']
data_root = 'data/cityscapes_mini/'
crop_size = (128, 256)
model = dict(data_preprocessor=dict(size=crop_size))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomChoiceResize', scales=[(512, short) for short in (160, 192)], keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(512, 192), keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
train_dataloader = dict(**_base_.loader, dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(**_base_.loader, dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
train_cfg = dict(max_iters=_base_.iters, val_interval=_base_.iters)
param_scheduler = [dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=_base_.iters)]
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=_base_.iters))
