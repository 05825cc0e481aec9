# Table 6: the MobileNet v3 Large student, Mask R-CNN FPN on its res2-res5 stages (appendix B.2). BN eps 1e-3, as
# the student was pre-trained (mmcls' MobileNet v3).
# Paper (Table 6, PCD MobileNet v3 Large): AP^bbox 37.7, AP^mask 34.3 (supervised: 35.8 / 32.7).
_base_ = './mask-rcnn_r18_fpn_1x_coco.py'
model = dict(
    backbone=dict(_delete_=True, type='mmselfsup.MobileNetV3Stages', norm_cfg=dict(_base_.pcd_norm_cfg, eps=0.001),
                  init_cfg=dict(type='Pretrained', checkpoint='work_dirs/pcd_student.pth')),
    neck=dict(in_channels=[24, 40, 112, 960]))
