# The CPU distillation benchmark's "w/o MHSA" row (Table 4): φ's output enters the loss directly.
_base_ = './pcd_resnet18-effnetlite0_1xb32-lars-15e_cifar10-mini.py'
model = dict(attention=None)
