# SEED on PCD's recipe (Sec. 3.2 of PCD: BYOL's two views, LARS, 8 x 128, 100 epochs), for a comparison with PCD in
# which only the loss differs: SEED's loss on each view, averaged.
_base_ = [
    '../_base_/models/seed_r18.py',
    '../_base_/datasets/imagenet_pcd.py',
    '../_base_/schedules/lars_coslr-100e_in1k.py',
    '../_base_/default_runtime.py',
]
