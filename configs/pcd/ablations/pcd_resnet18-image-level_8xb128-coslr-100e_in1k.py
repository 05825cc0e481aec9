# Table 2, "image-level": student and teacher maps vectorised by an extra global average pooling, eq. 4 on vectors.
_base_ = '../pcd_resnet18_8xb128-coslr-100e_in1k.py'
model = dict(head=dict(type='ImageContrastHead'))
