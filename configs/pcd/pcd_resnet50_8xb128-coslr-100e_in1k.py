# Student ResNet-50 (Table 6): the projection takes its 2048 channels.
_base_ = './pcd_resnet18_8xb128-coslr-100e_in1k.py'
model = dict(backbone=dict(depth=50), neck=dict(in_channels=2048))
