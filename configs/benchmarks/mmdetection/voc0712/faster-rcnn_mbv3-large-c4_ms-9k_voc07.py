# Table 6: the MobileNet v3 Large student in the VOC07 C4 setting (res5 as the RoI head, appendix B.2).
# Paper (Table 6, PCD MobileNet v3 Large, mean of 5 runs): AP50 73.9, AP 40.8 (supervised: 67.9 / 36.7).
_base_ = ['./faster-rcnn_r18-c4_ms-9k_voc07.py', '../_base_/mbv3-large-c4_pcd.py']
model = _base_.pcd_mbv3_c4_model
