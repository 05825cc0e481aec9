# Table 6: the ResNet-34 student in the VOC07+12 R-C4 setting.
# Paper (Table 6, PCD ResNet-34, mean of 5 runs): AP50 82.0, AP 58.2 (supervised: 81.0 / 55.0).
_base_ = './faster-rcnn_r18-c4_ms-24k_voc0712.py'
model = dict(backbone=dict(depth=34), roi_head=dict(shared_head=dict(depth=34)))
