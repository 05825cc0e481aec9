# Table 3 (d): the SpatialAdaptor with plain ReLU instead of CW-ReLU (avgpool no longer commutes with it).
_base_ = '../pcd_resnet18_8xb128-coslr-100e_in1k.py'
model = dict(teacher=dict(neck=dict(act_cfg=dict(type='ReLU'))))
