# The CPU dense benchmark's Table 3 (a) row: no SpatialAdaptor; the teacher's backbone map (1280 x 4 x 4) is
# contrasted directly, so φ's output, the MHSA and the queue are as wide as it.
_base_ = './pcd_resnet18-effnetlite0_1xb32-lars-20e_pets-mini.py'
model = dict(teacher=dict(neck=None), neck=dict(out_channels=1280))
