# Table 6: the ResNet-34 student in the VOC07+12 R-C4 setting.
_base_ = './faster-rcnn_r18-c4_ms-24k_voc0712.py'
model = dict(backbone=dict(depth=34), roi_head=dict(shared_head=dict(depth=34)))
