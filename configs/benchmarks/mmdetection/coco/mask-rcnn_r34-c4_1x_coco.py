# Table 6: the ResNet-34 student, Mask R-CNN C4.
# Paper (Table 6, PCD ResNet-34): AP^bbox 38.2, AP^mask 33.7 (supervised: 37.7 / 32.9).
_base_ = './mask-rcnn_r18-c4_1x_coco.py'
model = dict(backbone=dict(depth=34), roi_head=dict(shared_head=dict(depth=34)))
