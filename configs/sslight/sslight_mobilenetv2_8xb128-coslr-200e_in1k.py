# SSLight on MobileNet v2 (Table 2-4: 68.3 % linear top-1, DINO 66.2 %): the ResNet-18 recipe, the backbone of
# ../dino/dino_mobilenetv2_8xb128-coslr-200e_in1k.py.
_base_ = './sslight_resnet18_8xb128-coslr-200e_in1k.py'

model = dict(
    backbone=dict(_delete_=True, type='mmcls.MobileNetV2', widen_factor=1.0, out_indices=(7, ),
                  norm_cfg=dict(type='BN')), neck=dict(in_channels=1280))
