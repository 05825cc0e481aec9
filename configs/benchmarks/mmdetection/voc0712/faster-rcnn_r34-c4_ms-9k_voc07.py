# Table 6: the ResNet-34 student in the VOC07 R-C4 setting.
# Paper (Table 6, PCD ResNet-34, mean of 5 runs): AP50 76.3, AP 49.1 (supervised: 74.8 / 45.0).
_base_ = './faster-rcnn_r18-c4_ms-9k_voc07.py'
model = dict(backbone=dict(depth=34), roi_head=dict(shared_head=dict(depth=34)))
