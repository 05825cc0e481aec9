# Table 6: the ResNet-50 student, Mask R-CNN FPN.
_base_ = './mask-rcnn_r18_fpn_1x_coco.py'
model = dict(backbone=dict(depth=50), neck=dict(in_channels=[256, 512, 1024, 2048]))
