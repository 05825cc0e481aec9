# PCD (Fig. 1a): ResNet-18 student with projection φ and MHSA, MoCo v3 ResNet-50 teacher with its
# head as a SpatialAdaptor (Conv1x1 - BN - CW-ReLU - Conv1x1; the affine-free last BN dropped).
model = dict(
    type='PCD',
    data_preprocessor=dict(mean=(123.675, 116.28, 103.53), std=(58.395, 57.12, 57.375), bgr_to_rgb=True),
    backbone=dict(type='ResNet', depth=18, in_channels=3, out_indices=[4], norm_cfg=dict(type='BN')),
    # φ's widths and biases, the MHSA's width and the queue's follow the teacher head (PCD.follow_teacher)
    neck=dict(type='PixelProjection', in_channels=512, num_mlps=2),
    attention=dict(type='PixelMHSA', num_heads=8, head_channels=64),
    head=dict(type='PixelContrastHead', queue_len=65536, temperature=0.2),
    teacher=dict(backbone=dict(type='ResNet', depth=50, in_channels=3, out_indices=[4], norm_cfg=dict(type='BN')),
                 neck=dict(type='SpatialAdaptor', channels=(2048, 4096, 256), bias=False), channels_last=True),
    # The released file https://dl.fbaipublicfiles.com/moco-v3/r-50-1000ep/r-50-1000ep.pth.tar, downloaded.
    teacher_ckpt='checkpoints/r-50-1000ep.pth.tar',
    teacher_ckpt_format='mocov3',
    symmetric=True,
    cross_view=False,
    # NHWC convolutions, student and teacher: 1.39x the step on an H200 with AMP (docs/benchmark.md)
    channels_last=True)
