# Table 4, "w/o MHSA": φ's output enters the loss directly.
_base_ = '../pcd_resnet18_8xb128-coslr-100e_in1k.py'
model = dict(attention=None)
