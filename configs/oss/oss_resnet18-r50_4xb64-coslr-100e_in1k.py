# OSS online: ResNet-18 and ResNet-50 trained jointly on ImageNet, batch 256 on 4 GPUs (OSS A.1), 100 epochs
# (Table 10: 60.0 % linear top-1 for the ResNet-18; 64.1 / 65.8 / 68.3 % at 200 / 400 / 800 epochs).
_base_ = [
    '../_base_/models/oss_resnet18-r50.py',
    '../_base_/datasets/imagenet_swav_mcrop-2-6.py',
    '../_base_/schedules/lars_coslr-0.6-100e_in1k.py',
    '../_base_/default_runtime.py',
]
