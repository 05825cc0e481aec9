# Table 6: the MobileNet v3 Large student in the VOC07+12 C4 setting (res5 as the RoI head, appendix B.2).
_base_ = ['./faster-rcnn_r18-c4_ms-24k_voc0712.py', '../_base_/mbv3-large-c4_pcd.py']
model = _base_.pcd_mbv3_c4_model
