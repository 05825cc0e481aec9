# COCO (Table 1): Mask R-CNN R18-C4, 1x schedule (12 epochs), train2017 -> val2017, AP^bbox and AP^mask.
_base_ = ['mmdet::mask_rcnn/mask-rcnn_r50-caffe-c4_1x_coco.py', '../_base_/r18-c4_pcd.py']
model = _base_.pcd_c4_model
model['roi_head']['mask_head'] = dict(in_channels=512)
