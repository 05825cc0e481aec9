# PCD, Sec. 3.2: LARS, base lr 1.0 scaled by batch/256 (4.0 at 1024), 10 warm-up epochs, cosine to 0,
# weight decay 1e-5, momentum 0.9; biases and BN excluded from weight decay and from LARS adaptation.
optimizer = dict(type='LARS', lr=1.0, momentum=0.9, weight_decay=1e-5)
# Biases and BN are decided by shape: every 1-D parameter (flat_decay_mult: mmengine's; flat_lars_exclude:
# mmpcd.engine.TrainableOptimWrapperConstructor's), whatever its module is named.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=optimizer,
    constructor='TrainableOptimWrapperConstructor',  # the frozen teacher is left out
    paramwise_cfg=dict(flat_decay_mult=0., flat_lars_exclude=True))
warmup_epochs = 10
max_epochs = 100
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0, end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs, eta_min=0., by_epoch=True, begin=warmup_epochs,
         end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
# lr = optimizer.lr * (processes x batch per process) / base_batch_size: the linear scaling rule.
auto_scale_lr = dict(base_batch_size=256, enable=True)
