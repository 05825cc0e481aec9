# The CPU dense benchmark's "extra pred." row (Table 4): the MHSA replaced by a prediction head of about its
# parameter count at this width (1000, the teacher head's): Conv 1000-1024 - BN - ReLU - Conv 1024-1000 without
# biases, 2,050,048 parameters against the MHSA's 2,050,536 (8 x 64, 1000 wide).
_base_ = './pcd_resnet18-effnetlite0_1xb32-lars-20e_pets-mini.py'
model = dict(attention=dict(_delete_=True, type='PixelProjection', hid_channels=1024, out_channels=1000, num_mlps=1))
