# Table 6: the ResNet-34 student, Cityscapes FCN-like.
_base_ = './fcn-bn-d6_r18-d16_90k_cityscapes.py'
model = dict(backbone=dict(depth=34))
