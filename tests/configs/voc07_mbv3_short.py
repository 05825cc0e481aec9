# voc07_short.py with Table 6's MobileNet v3 Large student in the C4 setting (res5 as the RoI head).
_base_ = ['./voc07_short.py', '../../configs/benchmarks/mmdetection/_base_/mbv3-large-c4_pcd.py']
model = _base_.pcd_mbv3_c4_model
