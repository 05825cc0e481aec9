# The paper's recipe (pcd_resnet18_8xb128-coslr-100e_in1k.py) with BYOL's two views made on the GPU
# (docs/device_augment.md): the same crops, flips, jitter, grayscale, blur and solarization for each sample's seed.
_base_ = [
    '../_base_/models/pcd_r18.py',
    '../_base_/datasets/imagenet_pcd_device_augment.py',
    '../_base_/schedules/lars_coslr-100e_in1k.py',
    '../_base_/default_runtime.py',
]

model = dict(data_preprocessor=_base_.device_augment_preprocessor)
