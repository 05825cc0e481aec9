# The paper's recipe (Sec. 3.2): 8 processes x 128 images = 1024, 100 epochs on ImageNet.
_base_ = [
    '../_base_/models/pcd_r18.py',
    '../_base_/datasets/imagenet_pcd.py',
    '../_base_/schedules/lars_coslr-100e_in1k.py',
    '../_base_/default_runtime.py',
]
