# Table 6: the ResNet-50 student in the VOC07+12 R-C4 setting.
# Paper (Table 6, PCD ResNet-50, mean of 5 runs): AP50 82.8, AP 57.7 (supervised: 81.5 / 54.1).
_base_ = './faster-rcnn_r18-c4_ms-24k_voc0712.py'
model = dict(
    backbone=dict(depth=50), rpn_head=dict(in_channels=1024, feat_channels=1024),
    roi_head=dict(shared_head=dict(depth=50), bbox_roi_extractor=dict(out_channels=1024),
                  bbox_head=dict(in_channels=2048)))
