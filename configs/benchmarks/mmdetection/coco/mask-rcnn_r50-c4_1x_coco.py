# Table 6: the ResNet-50 student, Mask R-CNN C4.
# Paper (Table 6, PCD ResNet-50): AP^bbox 40.1, AP^mask 34.9 (supervised: 38.2 / 33.5).
_base_ = './mask-rcnn_r18-c4_1x_coco.py'
model = dict(
    backbone=dict(depth=50), rpn_head=dict(in_channels=1024, feat_channels=1024),
    roi_head=dict(shared_head=dict(depth=50), bbox_roi_extractor=dict(out_channels=1024),
                  bbox_head=dict(in_channels=2048), mask_head=dict(in_channels=2048)))
