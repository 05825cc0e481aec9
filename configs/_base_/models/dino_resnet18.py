# DINO (Caron et al., 2021) on a ResNet-18 as SSLight trains its convolutional networks
# (saic-fi/SSLight src/config/defaults.py + exp_yamls/dino/dino_cnn_baseline.yaml): projection head
# 2048-2048-256 with BN, GELU, K = 4096 weight-normalized outputs (g fixed), student temperature 0.1,
# centre momentum 0.9, teacher EMA 0.996 -> 1 (cosine).
model = dict(
    type='DINO', data_preprocessor=dict(mean=(123.675, 116.28, 103.53), std=(58.395, 57.12, 57.375),
                                        bgr_to_rgb=True), backbone=dict(type='ResNet', depth=18, in_channels=3,
                                                                        out_indices=[4], norm_cfg=dict(type='BN')),
    neck=dict(type='DINOProjection', in_channels=512, out_channels=4096, hidden_channels=2048, bottleneck_channels=256,
              num_layers=3, with_bn=True, norm_last_layer=True),
    head=dict(type='DINOHead', out_channels=4096, num_global_views=2, student_temp=0.1, center_momentum=0.9,
              global_weight=None), base_momentum=0.996, end_momentum=1.0)
# the teacher temperature 0.04 -> 0.07 over 50 epochs (dino_cnn_baseline.yaml), the last layer frozen in epoch 1
custom_hooks = [
    dict(type='DINOHook', warmup_teacher_temp=0.04, teacher_temp=0.07, warmup_epochs=50, freeze_last_layer_epochs=1)
]
# SyncBN across processes when distributed (mmengine converts every BN; a single process keeps BN)
sync_bn = 'torch'
# the last layer has no gradient in the first epoch (DINOHook): DDP must expect unused parameters
find_unused_parameters = True
