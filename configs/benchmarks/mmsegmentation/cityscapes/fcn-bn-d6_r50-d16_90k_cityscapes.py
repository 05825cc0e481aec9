# Table 6: the ResNet-50 student, Cityscapes FCN-like.
# Paper (Table 6, PCD ResNet-50, mean of 5 runs): mIoU 73.3 (supervised: 72.3).
_base_ = './fcn-bn-d6_r18-d16_90k_cityscapes.py'
model = dict(backbone=dict(depth=50), decode_head=dict(in_channels=2048))
