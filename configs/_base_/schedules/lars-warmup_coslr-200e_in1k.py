# SSLight, Table 8 (convolutional networks): PCD's LARS schedule (biases and BN excluded from weight decay and LARS
# adaptation; SSLight: "the depth-wise convolution layers and bias terms are excluded") with base lr 0.48 (DINO)
# scaled by batch/256, weight decay 1e-6, 10 linear warm-up epochs, cosine to lr x 1e-3, 200 epochs.
_base_ = './lars_coslr-100e_in1k.py'

optimizer = dict(lr=0.48, weight_decay=1e-6)
optim_wrapper = dict(optimizer=optimizer)  # the EMA teacher is left out by TrainableOptimWrapperConstructor
max_epochs = 200
warmup, cosine = param_scheduler = _base_.param_scheduler
cosine.pop('eta_min')
cosine.update(T_max=max_epochs - warmup.end, eta_min_ratio=1e-3, end=max_epochs)
train_cfg = dict(max_epochs=max_epochs)
