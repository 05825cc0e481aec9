# OSS A.1 "Training hyperparameters" (SwAV's small-batch setting): LARS, lr 0.6 at batch 256 decayed to 0.0006 with
# a cosine schedule, weight decay 1e-6, 100 epochs (also 200, 400, 800). No warm-up (SwAV's small-batch run:
# --warmup_epochs 0); LARS adapts every parameter and weight decay applies to all, as SwAV's LARC.
optimizer = dict(type='LARS', lr=0.6, momentum=0.9, weight_decay=1e-6)
optim_wrapper = dict(type='OptimWrapper', optimizer=optimizer, constructor='TrainableOptimWrapperConstructor')
max_epochs = 100
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min_ratio=1e-3, by_epoch=True, begin=0, end=max_epochs,
         convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
auto_scale_lr = dict(base_batch_size=256, enable=True)
