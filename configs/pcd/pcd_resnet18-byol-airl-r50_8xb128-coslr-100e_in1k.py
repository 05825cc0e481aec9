# Teacher: the paper's BYOL ResNet-50 (Table 5; Huang et al., ECCV 2022, megvii-research/revisitAIRL, "BYOL SGD
# 72.1"): its target encoder, projector 2048-4096-256. That code's get_mlp gives both Linear layers a bias; the official
# PCD reader builds the last without one and loads with strict=False, dropping it. Here the load is strict: a file
# without fc.3.bias fails naming it; then set teacher.neck.last_bias=False.
_base_ = './pcd_resnet18_8xb128-coslr-100e_in1k.py'
model = dict(teacher=dict(neck=dict(channels=(2048, 4096, 256), bias=True)),
             teacher_ckpt='checkpoints/byol_sgd_72.1.pth', teacher_ckpt_format='byol_airl')
