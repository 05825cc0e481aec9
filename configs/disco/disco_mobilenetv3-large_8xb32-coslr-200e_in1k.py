# DisCo's MobileNet v3 Large recipe (the same command with -a mobilenetv3): the stages of PCD's appendix B.2, the
# projection on res5 (960 channels), hidden width 2048.
_base_ = './disco_resnet18_8xb32-coslr-200e_in1k.py'
model = dict(backbone=dict(_delete_=True, type='MobileNetV3Stages', out_stages=('res5', )), neck=dict(in_channels=960))
