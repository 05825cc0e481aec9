# Table 3 (a): no SpatialAdaptor; the teacher backbone map (2048 x 7 x 7) is contrasted directly, so φ's output,
# the MHSA and the queue are 2048 wide.
_base_ = '../pcd_resnet18_8xb128-coslr-100e_in1k.py'
model = dict(teacher=dict(neck=None), neck=dict(out_channels=2048))
