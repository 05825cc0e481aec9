# The COCO Mask R-CNN R18-FPN of Table 1 (../coco/mask-rcnn_r18_fpn_1x_coco.py: PixPro's / MoCo's FPN setting with
# the 4conv-1fc box head, precise BN, no decay on norms, the plain export) fine-tuned on data/pets_mini (Oxford-IIIT
# Pet, CC BY-SA 4.0; one pet an image, its breed the category, annotations/instances_*.json written by
# tools/dataset_converters/label_maps_to_coco.py) at CPU scale, by tools/benchmarks/finetune_cpu.py
# (docs/finetune_benchmark.md). Only what the scale forces differs from the parent, each change commented here;
# tests/test_finetune_benchmark.py checks that nothing else does. Another folder in the same layout: docs/own_data.md.
_base_ = ['../coco/mask-rcnn_r18_fpn_1x_coco.py']
data_root = 'data/pets_mini/'
# the data: 3 categories (the breeds), images at 1/4 of the parent's scales (pets_mini's shorter side is 160 px)
metainfo = dict(classes=('Abyssinian', 'american_bulldog', 'Bengal'))
num_classes = 3
norm_cfg = dict(type='BN', requires_grad=True)  # SyncBN in one process is BN
model = dict(
    backbone=dict(norm_cfg=norm_cfg), neck=dict(norm_cfg=norm_cfg),
    roi_head=dict(bbox_head=dict(num_classes=num_classes, norm_cfg=norm_cfg),
                  mask_head=dict(num_classes=num_classes, norm_cfg=norm_cfg)))
# multi-scale training with the shorter side from 160-200 (the parent's 640-800 / 4, step 8 as 32 / 4), test at 200
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='RandomChoiceResize', scales=[(333, short) for short in range(160, 201, 8)], keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(333, 200), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
dataset = dict(data_root=data_root, metainfo=metainfo, data_prefix=dict(img=''))
# batch 16 in one process (the parent's 8 x 2), so lr 0.02 stays; no worker processes on 2 cores
loader = dict(num_workers=0, persistent_workers=False)
train_dataloader = dict(batch_size=16, **loader, dataset=dict(**dataset, ann_file='annotations/instances_train.json',
                                                              pipeline=train_pipeline))
val_dataloader = dict(**loader, dataset=dict(**dataset, ann_file='annotations/instances_val.json',
                                             pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator
# the schedule: 50 epochs of the 300 train images (950 iterations) with the parent's shape: warm-up over the first
# 1/90 of it (1000 of detectron2's 90k iterations), steps at 8/12 and 11/12; evaluated once, at the end
max_epochs = 50
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=max_epochs * 19 // 90),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True,
         milestones=[max_epochs * 8 // 12, max_epochs * 11 // 12], gamma=0.1),
]
# precise BN over 200 batches of the parent's 16 images (3200) is 11 epochs here: 20 batches, one epoch
custom_hooks = [dict(type='PreciseBNHook', num_iters=20)]
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=max_epochs))
