# Student MobileNet v3 Large (Table 6), with the stages of appendix B.2; the projection takes res5 (960 channels).
_base_ = './pcd_resnet18_8xb128-coslr-100e_in1k.py'
model = dict(backbone=dict(_delete_=True, type='MobileNetV3Stages', out_stages=('res5', )), neck=dict(in_channels=960))
