# Table 6: the MobileNet v3 Large student, ImageNet linear probe on its last map (960 channels).
# Paper: no linear-probe number for MobileNet v3 Large (Table 6 has no ImageNet column).
_base_ = './resnet18_linear-8xb128-coslr-100e_in1k.py'
model = dict(
    backbone=dict(_delete_=True, type='MobileNetV3', arch='large', out_indices=(16, ), frozen_stages=16, norm_eval=True,
                  init_cfg=dict(type='Pretrained', checkpoint='work_dirs/pcd_student.pth')), head=dict(in_channels=960))
