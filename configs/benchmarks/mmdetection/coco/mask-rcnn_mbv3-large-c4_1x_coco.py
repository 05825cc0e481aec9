# Table 6: the MobileNet v3 Large student, Mask R-CNN C4 (res5 as the RoI head, appendix B.2).
# Paper (Table 6, PCD MobileNet v3 Large): AP^bbox 32.8, AP^mask 29.6 (supervised: 30.6 / 27.9).
_base_ = ['./mask-rcnn_r18-c4_1x_coco.py', '../_base_/mbv3-large-c4_pcd.py']
model = _base_.pcd_mbv3_c4_model
model['roi_head']['mask_head'] = dict(in_channels=960)
