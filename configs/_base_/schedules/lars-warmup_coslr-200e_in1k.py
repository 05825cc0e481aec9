# SSLight, Table 8 (convolutional networks): PCD's LARS schedule with base lr 0.48 (DINO) scaled by batch/256, weight
# decay 1e-6, 10 linear warm-up epochs, cosine over 200 epochs to the absolute minimum lr 0.0048 of
# saic-fi/SSLight:src/config/exp_yamls/dino/dino_cnn_sslight.yaml and dino_cnn_baseline.yaml (line 34,
# "MIN_LR: 0.0048", used as is: src/sslight/engine/trainer.py line 91, "self.min_lr = cfg.SOLVER.MIN_LR", where
# line 90 scales BASE_LR by the batch); Table 8's "lr x 1e-3" would be 0.00192 at batch 1024.
# Parameter groups as saic-fi/SSLight:src/sslight/utils/param_utils.py get_params: every 1-D parameter (biases, BN)
# without weight decay or LARS adaptation (PCD's schedule, by shape), and depth-wise convolutions (MobileNet v2's)
# without weight decay but with LARS adaptation (src/config/defaults.py: WD_FACTOR_FOR_DW = 0.0,
# LARS_EXCLUDE_DW = False).
_base_ = './lars_coslr-100e_in1k.py'

optimizer = dict(lr=0.48, weight_decay=1e-6)
# the EMA teacher is left out by TrainableOptimWrapperConstructor
optim_wrapper = dict(optimizer=optimizer, paramwise_cfg=dict(dwconv_decay_mult=0.))
max_epochs = 200
warmup, cosine = param_scheduler = _base_.param_scheduler
cosine.update(T_max=max_epochs - warmup.end, eta_min=0.0048, end=max_epochs)
train_cfg = dict(max_epochs=max_epochs)
