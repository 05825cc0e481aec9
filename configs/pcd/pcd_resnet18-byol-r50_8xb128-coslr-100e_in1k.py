# Teacher: BYOL ResNet-50 (Table 5), the target network of an mmselfsup 1.x BYOL checkpoint: its NonLinearNeck
# 2048-4096-256 has a bias on the first Linear only (with_bias=True, with_last_bias=False). The paper's own BYOL file
# (ECCV 2022): pcd_resnet18-byol-airl-r50_8xb128-coslr-100e_in1k.py.
_base_ = './pcd_resnet18_8xb128-coslr-100e_in1k.py'
model = dict(teacher=dict(neck=dict(channels=(2048, 4096, 256), bias=True, last_bias=False)),
             teacher_ckpt='checkpoints/byol_resnet50_16xb256-coslr-200e_in1k.pth', teacher_ckpt_format='byol')
