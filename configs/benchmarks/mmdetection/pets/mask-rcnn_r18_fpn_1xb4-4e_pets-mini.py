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
# RoIs and proposals for one object an image on a CPU: the 4conv-1fc box head and the mask head run on every sampled
# RoI, 512 an image in the parent (for COCO's 7 objects an image; over a minute an iteration of 16 images here); 64
# (16 of them positive at most, the parent's 0.25) from 250 proposals of 500 (the parent's 1000 of 2000, halved)
model = dict(
    backbone=dict(norm_cfg=norm_cfg), neck=dict(norm_cfg=norm_cfg),
    roi_head=dict(bbox_head=dict(num_classes=num_classes, norm_cfg=norm_cfg),
                  mask_head=dict(num_classes=num_classes, norm_cfg=norm_cfg)),
    train_cfg=dict(rpn_proposal=dict(nms_pre=500, max_per_img=250),
                   rcnn=dict(sampler=dict(num=64))), test_cfg=dict(rpn=dict(nms_pre=500, max_per_img=250)))
# multi-scale training with the shorter side from 160-200 (the parent's 640-800 / 4, step 8 as 32 / 4), test at 200
train_pipeline = [
    *_base_.pcd_coco_train_pipeline[:2],
    dict(type='RandomChoiceResize', scales=[(333, short) for short in range(160, 201, 8)], keep_ratio=True),
    *_base_.pcd_coco_train_pipeline[3:]
]
test_pipeline = [
    _base_.test_pipeline[0],
    dict(type='Resize', scale=(333, 200), keep_ratio=True), *_base_.test_pipeline[2:]
]
dataset = dict(data_root=data_root, metainfo=metainfo, data_prefix=dict(img=''))
# batch 4 in one process (the parent's 8 x 2 = 16), lr scaled with it (linear scaling, as mmengine's auto_scale_lr);
# no worker processes on 2 cores
optim_wrapper = dict(optimizer=dict(lr=0.02 * 4 / 16))
loader = dict(num_workers=0, persistent_workers=False)
train_dataloader = dict(batch_size=4, **loader, dataset=dict(**dataset, ann_file='annotations/instances_train.json',
                                                             pipeline=train_pipeline))
val_dataloader = dict(**loader, dataset=dict(**dataset, ann_file='annotations/instances_val.json',
                                             pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator
# the schedule: 4 epochs of the 300 train images (300 iterations, about 5 s each on 2 free cores: 25 minutes), the
# parent's 12-epoch shape scaled by 4 / 12: warm-up over the first 1/90 of the iterations (1000 of detectron2's 90k),
# steps at epochs 2 and 3 (8 and 11 of 12); evaluated once, at the end
max_epochs = 4
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=max_epochs * 75 // 90),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True,
         milestones=[max_epochs * 8 // 12, max_epochs * 11 // 12], gamma=0.1),
]
# precise BN over 200 batches of the parent's 16 images (3200) would be 11 epochs here: 75 batches of 4, one epoch
custom_hooks = [dict(type='PreciseBNHook', num_iters=75)]
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=max_epochs))
