# Table 6: the ResNet-34 student, Mask R-CNN FPN.
_base_ = './mask-rcnn_r18_fpn_1x_coco.py'
model = dict(backbone=dict(depth=34))
