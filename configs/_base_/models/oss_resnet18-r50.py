# OSS (online SwAV distillation, OSS appendix A.1): ResNet-18 student and ResNet-50 teacher trained jointly,
# SwAV projection heads 2048-128 with dropout (0.1, 0.05) at (Linear1, Linear2), 3000 shared 128-d prototypes,
# Sinkhorn 3 iterations at ε = 0.05, τ = 0.1, a queue of 3840 embeddings per full-resolution view at batch 256,
# the feature classifier (100-d hidden, BN, ReLU, 2 outputs) behind gradient reversal. No zero-initialised residual
# branches: SwAV's main_swav.py builds its ResNet with src/resnet50.py's default zero_init_residual=False (docs/oss.md).
model = dict(
    type='OSS', data_preprocessor=dict(mean=(123.675, 116.28, 103.53), std=(58.395, 57.12, 57.375), bgr_to_rgb=True),
    backbone=dict(type='ResNet', depth=18, in_channels=3, out_indices=[4], norm_cfg=dict(type='BN'),
                  zero_init_residual=False), neck=dict(type='OSSProjection', in_channels=512, hidden_channels=2048,
                                                       out_channels=128, dropout=(0.1, 0.05)),
    head=dict(type='OSSHead', feat_dim=128, num_prototypes=3000, temperature=0.1, epsilon=0.05, sinkhorn_iterations=3,
              queue_length=3840), teacher_backbone=dict(type='ResNet', depth=50, in_channels=3, out_indices=[4],
                                                        norm_cfg=dict(type='BN'), zero_init_residual=False),
    teacher_neck=dict(type='OSSProjection', in_channels=2048, hidden_channels=2048, out_channels=128,
                      dropout=(0.1, 0.05)), classifier=dict(type='FeatureClassifier', in_channels=128,
                                                            hidden_channels=100))
# α(n) of the gradient reversal every iteration; the queue from the 15th epoch (A.1); the prototypes frozen for
# SwAV's first 5005 iterations (its small-batch setting, which A.1 follows)
custom_hooks = [dict(type='OSSHook', queue_start_epoch=15, freeze_prototypes_iters=5005)]
# "Synchronized batch norm layers ... are used across GPUs" (A.1): every BN, when distributed
sync_bn = 'torch'
# the prototypes have no gradient in the first iterations (OSSHook), as in mmselfsup's SwAV config
find_unused_parameters = True
