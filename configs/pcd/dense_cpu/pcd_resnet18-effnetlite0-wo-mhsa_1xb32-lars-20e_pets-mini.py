# The CPU dense benchmark's "w/o MHSA" row (Table 4): φ's output enters the loss directly.
_base_ = './pcd_resnet18-effnetlite0_1xb32-lars-20e_pets-mini.py'
model = dict(attention=None)
