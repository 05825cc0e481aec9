# Plain DINO on MobileNet v2 (mmcls), SSLight's baseline (Tables 1-4: 66.2 % linear top-1).
_base_ = './dino_resnet18_8xb128-coslr-200e_in1k.py'

model = dict(
    backbone=dict(_delete_=True, type='mmcls.MobileNetV2', widen_factor=1.0, out_indices=(7, ),
                  norm_cfg=dict(type='BN')), neck=dict(in_channels=1280))
