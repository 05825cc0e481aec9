# Not in the paper (issue 34): x + MHSA(x) with a zero-initialised output projection, so it starts as the identity.
_base_ = '../pcd_resnet18_8xb128-coslr-100e_in1k.py'
model = dict(attention=dict(residual=True, zero_init_proj=True))
