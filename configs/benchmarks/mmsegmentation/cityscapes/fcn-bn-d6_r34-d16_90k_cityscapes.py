# Table 6: the ResNet-34 student, Cityscapes FCN-like.
# Paper (Table 6, PCD ResNet-34, mean of 5 runs): mIoU 73.2 (supervised: 71.9).
_base_ = './fcn-bn-d6_r18-d16_90k_cityscapes.py'
model = dict(backbone=dict(depth=34))
