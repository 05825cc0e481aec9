# Table 4, "extra pred.": the MHSA replaced by a prediction head of about its parameter count: Conv 256-1024 - BN -
# ReLU - Conv 1024-256 without biases, 526,336 parameters against the MHSA's 526,080 (8 x 64, 256 wide).
_base_ = '../pcd_resnet18_8xb128-coslr-100e_in1k.py'
model = dict(attention=dict(_delete_=True, type='PixelProjection', hid_channels=1024, out_channels=256, num_mlps=1))
