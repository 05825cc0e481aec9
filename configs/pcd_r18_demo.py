# The main job, small: PCD on the 24 COCO images shipped in data/coco_mini, on a 2-core CPU in minutes, distilling
# from a real ImageNet network that installs from PyPI (EfficientNet-Lite0; the recipe is configs/pcd_r18.py's).
#   bash tools/demo.sh
_base_ = './pcd/pcd_resnet18-effnetlite0_8xb128-coslr-100e_in1k.py'

crop_size = 112
train_pipeline = _base_.train_pipeline
for view in train_pipeline[1]['transforms']:
    view[0]['size'] = crop_size

model = dict(head=dict(queue_len=256))

train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=False,
    pin_memory=False,
    dataset=dict(
        type='ImageFolder',
        data_root='data/coco_mini',
        ann_file='',
        data_prefix=dict(img_path='train/'),
        pipeline=train_pipeline))

warmup_epochs = 1
max_epochs = 10
warmup, cosine = param_scheduler = _base_.param_scheduler
warmup['end'] = cosine['begin'] = warmup_epochs
cosine.update(T_max=max_epochs - warmup_epochs, end=max_epochs)
train_cfg = dict(max_epochs=max_epochs)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=5, max_keep_ckpts=2))
randomness = dict(seed=0)
