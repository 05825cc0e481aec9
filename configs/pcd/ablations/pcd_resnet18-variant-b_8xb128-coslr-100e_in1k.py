# Table 3 (b): (a) + a ReLU after the MHSA (the teacher backbone map ends in a ReLU).
_base_ = './pcd_resnet18-variant-a_8xb128-coslr-100e_in1k.py'
model = dict(attention=dict(act_cfg=dict(type='ReLU')))
