# Table 3 (c): (a) without the MHSA, and a ReLU after the student's projection φ.
_base_ = './pcd_resnet18-variant-a_8xb128-coslr-100e_in1k.py'
model = dict(attention=None, neck=dict(act_cfg=dict(type='ReLU')))
