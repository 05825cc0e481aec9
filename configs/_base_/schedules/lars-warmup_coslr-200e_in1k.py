# SSLight, Table 8 (convolutional networks): LARS, momentum 0.9, base lr 0.48 (DINO) scaled by batch/256,
# 10 linear warm-up epochs, cosine to lr x 1e-3, weight decay 1e-6, 200 epochs; biases and BN excluded from
# weight decay and LARS adaptation (SSLight: "the depth-wise convolution layers and bias terms are excluded").
optimizer = dict(type='LARS', lr=0.48, momentum=0.9, weight_decay=1e-6)
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=optimizer,
    constructor='TrainableOptimWrapperConstructor',  # the EMA teacher is left out
    paramwise_cfg=dict(
        custom_keys={
            'bn': dict(decay_mult=0, lars_exclude=True),
            'bias': dict(decay_mult=0, lars_exclude=True),
            'downsample.1': dict(decay_mult=0, lars_exclude=True),
        }))
warmup_epochs = 10
max_epochs = 200
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0, end=warmup_epochs,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs, eta_min_ratio=1e-3, by_epoch=True,
         begin=warmup_epochs, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
auto_scale_lr = dict(base_batch_size=256, enable=True)
