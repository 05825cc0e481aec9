# SEED's ResNet-18 recipe (its main.py, tools/opts.py): one MoCo v2 view per image, seen by student and
# teacher; SGD lr 0.03 x batch/256, 5 warm-up epochs (main.py sets args.warmup_epochs = 5), cosine, 200 epochs;
# 8 processes x 32 = 256.
_base_ = [
    '../_base_/models/seed_r18.py',
    '../_base_/datasets/imagenet_mocov2.py',
    '../_base_/schedules/sgd_coslr-200e_in1k.py',
    '../_base_/default_runtime.py',
]
train_pipeline = _base_.train_pipeline
train_pipeline[1]['num_views'] = 1
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
warmup_epochs = 5
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0, end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=_base_.max_epochs - warmup_epochs, eta_min=0., by_epoch=True,
         begin=warmup_epochs, end=_base_.max_epochs, convert_to_iter_based=True),
]
