# Table 6: the ResNet-34 student, Mask R-CNN FPN.
# Paper (Table 6, PCD ResNet-34): AP^bbox 40.9, AP^mask 37.0 (supervised: 39.4 / 35.6).
_base_ = './mask-rcnn_r18_fpn_1x_coco.py'
model = dict(backbone=dict(depth=34))
