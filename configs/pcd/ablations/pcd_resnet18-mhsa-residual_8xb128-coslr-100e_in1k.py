# Not in the paper (issue 34): the MHSA with a residual path, x + MHSA(x), the sub-layer of a Transformer layer.
_base_ = '../pcd_resnet18_8xb128-coslr-100e_in1k.py'
model = dict(attention=dict(residual=True))
