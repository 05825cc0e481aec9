# Table 6: the MobileNet v3 Large student in the VOC07+12 C4 setting (res5 as the RoI head, appendix B.2).
# Paper (Table 6, PCD MobileNet v3 Large, mean of 5 runs): AP50 79.3, AP 49.9 (supervised: 76.2 / 46.4).
_base_ = ['./faster-rcnn_r18-c4_ms-24k_voc0712.py', '../_base_/mbv3-large-c4_pcd.py']
model = _base_.pcd_mbv3_c4_model
