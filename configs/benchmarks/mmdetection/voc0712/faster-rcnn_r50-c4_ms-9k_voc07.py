# Table 6: the ResNet-50 student in the VOC07 R-C4 setting.
# Paper (Table 6, PCD ResNet-50, mean of 5 runs): AP50 77.0, AP 49.0 (supervised: 75.2 / 44.5).
_base_ = './faster-rcnn_r18-c4_ms-9k_voc07.py'
model = dict(
    backbone=dict(depth=50), rpn_head=dict(in_channels=1024, feat_channels=1024),
    roi_head=dict(shared_head=dict(depth=50), bbox_roi_extractor=dict(out_channels=1024),
                  bbox_head=dict(in_channels=2048)))
