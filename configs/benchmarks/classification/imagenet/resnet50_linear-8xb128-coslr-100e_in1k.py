# Table 6: the ResNet-50 student, ImageNet linear probe.
# Paper: no linear-probe number for ResNet-50 (Table 6 has no ImageNet column).
_base_ = './resnet18_linear-8xb128-coslr-100e_in1k.py'
model = dict(backbone=dict(depth=50), head=dict(in_channels=2048))
