# configs/benchmarks/.../faster-rcnn_r18-c4_ms-9k_voc07.py on data/voc_mini, small images, 4 iterations.
_base_ = ['../../configs/benchmarks/mmdetection/voc0712/faster-rcnn_r18-c4_ms-9k_voc07.py', './_short_.py']
data_root = 'data/voc_mini/VOCdevkit/'
model = _base_.few_rois
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(320, 192), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(320, 192), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
train_dataloader = dict(batch_size=2, **_base_.loader, dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(**_base_.loader, dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
train_cfg = dict(max_iters=_base_.iters, val_interval=_base_.iters)
param_scheduler = [dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=_base_.iters)]
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=_base_.iters))
custom_hooks = _base_.precise_bn_short
