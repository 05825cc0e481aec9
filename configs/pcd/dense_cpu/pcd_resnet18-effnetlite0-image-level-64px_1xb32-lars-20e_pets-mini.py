# The CPU dense benchmark's small-map image-level row (Table 2 at 2 x 2 maps).
_base_ = './pcd_resnet18-effnetlite0-64px_1xb32-lars-20e_pets-mini.py'
model = dict(head=dict(type='ImageContrastHead'))
