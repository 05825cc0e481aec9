# Student ResNet-34 (Table 6).
_base_ = './pcd_resnet18_8xb128-coslr-100e_in1k.py'
model = dict(backbone=dict(depth=34))
