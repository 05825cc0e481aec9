# OSS offline (OSS A.8): a ResNet-18 learns the codes of SwAV's frozen 800-epoch ResNet-50 (its backbone,
# projection head and prototypes) with dropout (0.1, 0.05) in its head, 130 epochs, OSS's multi-crop and optimizer.
_base_ = './oss_resnet18-r50_4xb64-coslr-100e_in1k.py'

model = dict(
    _delete_=True,
    type='OSSOffline',
    data_preprocessor=dict(mean=(123.675, 116.28, 103.53), std=(58.395, 57.12, 57.375), bgr_to_rgb=True),
    backbone=dict(type='ResNet', depth=18, in_channels=3, out_indices=[4], norm_cfg=dict(type='BN'),
                  zero_init_residual=False),
    neck=dict(type='OSSProjection', in_channels=512, hidden_channels=2048, out_channels=128, dropout=(0.1, 0.05)),
    # the prototypes are the teacher's
    head=dict(type='OSSHead', feat_dim=128, num_prototypes=None, temperature=0.1, epsilon=0.05, sinkhorn_iterations=3,
              queue_length=3840),
    teacher=dict(
        backbone=dict(type='ResNet', depth=50, in_channels=3, out_indices=[4], norm_cfg=dict(type='BN')),
        neck=dict(type='OSSProjection', in_channels=2048, hidden_channels=2048, out_channels=128, dropout=(0., 0.),
                  num_prototypes=3000)),
    # The released file https://dl.fbaipublicfiles.com/deepcluster/swav_800ep_pretrain.pth.tar, downloaded.
    teacher_ckpt='checkpoints/swav_800ep_pretrain.pth.tar',
    teacher_ckpt_format='swav_prototypes')
# the queue only (no feature classifier offline)
custom_hooks = [dict(type='OSSHook', queue_start_epoch=15)]
max_epochs = 130
cosine, = param_scheduler = _base_.param_scheduler
cosine.update(T_max=max_epochs, end=max_epochs)
train_cfg = dict(max_epochs=max_epochs)
