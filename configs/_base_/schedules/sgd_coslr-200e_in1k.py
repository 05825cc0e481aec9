# MoCo v2's schedule, which SEED and DisCo keep: SGD, lr 0.03 at batch 256 (linear scaling), momentum 0.9, weight
# decay 1e-4 on every weight, cosine to 0 over 200 epochs.
optimizer = dict(type='SGD', lr=0.03, momentum=0.9, weight_decay=1e-4)
optim_wrapper = dict(type='OptimWrapper', optimizer=optimizer,
                     constructor='TrainableOptimWrapperConstructor')  # the frozen teacher is left out
max_epochs = 200
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=0., by_epoch=True, begin=0, end=max_epochs,
         convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
auto_scale_lr = dict(base_batch_size=256, enable=True)
