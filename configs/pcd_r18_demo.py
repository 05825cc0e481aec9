# The main job, small: PCD on the 24 COCO images shipped in data/coco_mini, on a 2-core CPU in about 4 minutes,
# distilling from a real ImageNet network that installs from PyPI (EfficientNet-Lite0; the recipe is
# configs/pcd_r18.py's). Its loss falls well below chance, log(K+1) = log(257): the end of the run prints both and
# draws work_dirs/pcd_r18_demo/loss_curve.png.
#   bash tools/demo.sh
# Scaled from the paper's recipe: crop 112, batch 8, queue 256, 60 epochs of 3 iterations, and LARS at lr 1.0
# without the linear scaling rule (at batch 8 it gives 0.031, and LARS then moves each weight by 3e-5 of its norm
# per step: the loss stays at chance; docs/distillation_benchmark.md has the measurements).
_base_ = './pcd/pcd_resnet18-effnetlite0_8xb128-coslr-100e_in1k.py'

crop_size = 112
train_pipeline = _base_.train_pipeline
for view in train_pipeline[1]['transforms']:
    view[0]['size'] = crop_size

# The default memory layout: at these small crops channels-last is slower on a 2-core CPU (0.96x at 112 px,
# 0.83x at 64 px; docs/benchmark.md)
model = dict(head=dict(queue_len=256), channels_last=False, teacher=dict(channels_last=False))

train_dataloader = dict(
    batch_size=8, num_workers=2, persistent_workers=False, pin_memory=False,
    dataset=dict(type='ImageFolder', data_root='data/coco_mini', ann_file='', data_prefix=dict(img_path='train/'),
                 pipeline=train_pipeline))

auto_scale_lr = dict(enable=False)
warmup_epochs = 6
max_epochs = 60
warmup, cosine = param_scheduler = _base_.param_scheduler
warmup['end'] = cosine['begin'] = warmup_epochs
cosine.update(T_max=max_epochs - warmup_epochs, end=max_epochs)
train_cfg = dict(max_epochs=max_epochs)
default_hooks = dict(logger=dict(interval=3), checkpoint=dict(interval=20, max_keep_ckpts=2))
custom_hooks = [dict(type='LossCurveHook')]
randomness = dict(seed=0)
