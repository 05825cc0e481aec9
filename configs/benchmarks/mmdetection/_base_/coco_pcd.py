# The COCO training of MoCo's and PixPro's detectron2 configs (Base-RCNN-C4-BN.yaml / Base-RCNN-FPN.yaml and their
# coco_R_50_*_1x files) where mmdet's 1x bases differ, for the C4 and the FPN configs (plugged in by the leaves, since
# mmdet's bases define train_dataloader and param_scheduler):
# - multi-scale training: shortest edge chosen from 640-800 (step 32), longest at most 1333 (INPUT.MIN_SIZE_TRAIN
#   (640, ..., 800), as mmselfsup's port mask-rcnn_r50*_ms-1x_coco.py); test at 800 (mmdet's base);
# - linear warm-up over 1000 iterations from 0.001 of the lr (detectron2's SOLVER.WARMUP_ITERS / WARMUP_FACTOR),
#   then mmdet's 1x steps (epochs 8 and 11 of 12; detectron2 counts 90k iterations, steps 60k / 80k).
pcd_coco_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='RandomChoiceResize', scales=[(1333, short) for short in range(640, 801, 32)], keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
pcd_coco_param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=1000),
    dict(type='MultiStepLR', begin=0, end=12, by_epoch=True, milestones=[8, 11], gamma=0.1),
]
