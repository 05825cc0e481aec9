# Table 6: the ResNet-50 student, Mask R-CNN FPN.
# Paper (Table 6, PCD ResNet-50): AP^bbox 42.4, AP^mask 38.1 (supervised: 40.2 / 36.3).
_base_ = './mask-rcnn_r18_fpn_1x_coco.py'
model = dict(backbone=dict(depth=50), neck=dict(in_channels=[256, 512, 1024, 2048]))
