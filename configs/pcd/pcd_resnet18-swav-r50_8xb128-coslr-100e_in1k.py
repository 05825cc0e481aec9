# Teacher: SwAV ResNet-50 (swav_800ep_pretrain.pth.tar, Table 5): head 2048-2048-128 with biases; prototypes unused.
_base_ = './pcd_resnet18_8xb128-coslr-100e_in1k.py'
model = dict(teacher=dict(neck=dict(channels=(2048, 2048, 128), bias=True)),
             teacher_ckpt='checkpoints/swav_800ep_pretrain.pth.tar', teacher_ckpt_format='swav')
