# Teacher: BYOL ResNet-50 (Table 5), the target network of an mmselfsup 1.x BYOL checkpoint; head 2048-4096-256 with
# biases. See docs/teachers.md on the paper's own BYOL file.
_base_ = './pcd_resnet18_8xb128-coslr-100e_in1k.py'
model = dict(
    teacher=dict(neck=dict(channels=(2048, 4096, 256), bias=True)),
    teacher_ckpt='checkpoints/byol_resnet50_16xb256-coslr-200e_in1k.pth',
    teacher_ckpt_format='byol')
