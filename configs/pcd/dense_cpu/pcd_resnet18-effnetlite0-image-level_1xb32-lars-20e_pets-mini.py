# The CPU dense benchmark's image-level row (Table 2): both maps pooled to vectors before the loss.
_base_ = './pcd_resnet18-effnetlite0_1xb32-lars-20e_pets-mini.py'
model = dict(head=dict(type='ImageContrastHead'))
