# The data pieces of the short COCO runs (coco_c4_short.py, coco_fpn_short.py) on data/coco_mini: small images, the
# multi-scale training of the real configs (shortest edge 640-800) scaled down to 160-192.
mini_root = 'data/coco_mini/'
mini_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='RandomChoiceResize', scales=[(320, short) for short in (160, 176, 192)], keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
mini_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(320, 192), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
coco_train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=mini_root, ann_file='annotations/instances_train.json', data_prefix=dict(img='train/'),
                 pipeline=mini_train_pipeline))
coco_val_dataloader = dict(
    num_workers=0, persistent_workers=False,
    dataset=dict(data_root=mini_root, ann_file='annotations/instances_val.json', data_prefix=dict(img='val/'),
                 pipeline=mini_test_pipeline))
coco_val_evaluator = dict(ann_file=mini_root + 'annotations/instances_val.json')
