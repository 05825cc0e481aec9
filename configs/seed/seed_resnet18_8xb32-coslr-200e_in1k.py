# SEED's ResNet-18 recipe (jacobswan1/SEED:main.py, jacobswan1/SEED:tools/opts.py): one MoCo v2 view per image, seen
# by student and teacher; SGD lr 0.03 x batch/256, momentum 0.9, weight decay 1e-4, 200 epochs; 8 processes x 32 =
# 256. Its "5 warm-up epochs" (main.py: args.warmup_epochs = 5) ramp the lr from 0.03 to 0.03 x batch/256
# (jacobswan1/SEED:tools/utils.py, adjust_learning_rate: lr = args.lr + (args.lr * args.lr_mult - args.lr) /
# args.warmup_epochs * epoch): a constant 0.03 at batch 256; then lr *= 0.5 * (1 + cos(pi * epoch / args.epochs)),
# set once an epoch. Here: that cosine, per epoch, from epoch 0 (epochs 1-4 at 0.03 x 0.9999 ... 0.9990).
_base_ = [
    '../_base_/models/seed_r18.py',
    '../_base_/datasets/imagenet_mocov2.py',
    '../_base_/schedules/sgd_coslr-200e_in1k.py',
    '../_base_/default_runtime.py',
]
train_pipeline = _base_.train_pipeline
train_pipeline[1]['num_views'] = 1
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=_base_.max_epochs, eta_min=0., by_epoch=True, begin=0, end=_base_.max_epochs)
]
