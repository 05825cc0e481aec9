# Teacher: Barlow Twins ResNet-50 (checkpoint.pth, Table 5): projector 8192-8192-8192 (two BN + ReLU stages).
# Its 8192-d pixels make the symmetric loss too large, so the paper uses the asymmetric variant (appendix B.3).
_base_ = './pcd_resnet18_8xb128-coslr-100e_in1k.py'
model = dict(teacher=dict(neck=dict(channels=(2048, 8192, 8192, 8192))),
             teacher_ckpt='checkpoints/barlowtwins_checkpoint.pth', teacher_ckpt_format='barlowtwins', symmetric=False)
