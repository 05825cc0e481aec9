# Table 6: the MobileNet v3 Large student, Cityscapes FCN-like, on res5 (960 channels) kept at output stride 16 by
# dilating its bottlenecks (as res5 of the ResNets is). BN eps: the pre-training eps 1e-3 scaled as the student's
# running variances are by NormRescale (see mmdetection/_base_/mbv3-large-c4_pcd.py).
# Paper (Table 6, PCD MobileNet v3 Large, mean of 5 runs): mIoU 69.0 (supervised: 68.3).
_base_ = './fcn-bn-d6_r18-d16_90k_cityscapes.py'
model = dict(
    backbone=dict(_delete_=True, type='mmselfsup.MobileNetV3Stages', out_stages=('res5', ), res5_dilation=2,
                  norm_cfg=dict(_base_.norm_cfg, eps=0.001 * 0.25**2),
                  init_cfg=dict(type='Pretrained', checkpoint='work_dirs/pcd_student_normrescale.pth')),
    decode_head=dict(in_channels=960))
