# SEED on PCD's recipe (Sec. 3.2 of PCD: BYOL's two views, LARS, 8 x 128, 100 epochs): SEED's loss on each view,
# averaged. Against PCD's image-level ablation the student head, the teacher embedding (last BN kept) and the loss
# (τ_S 0.2, τ_T 1e-4) differ; the teacher, data, optimizer and queue are the same (docs/seed.md).
_base_ = [
    '../_base_/models/seed_r18.py',
    '../_base_/datasets/imagenet_pcd.py',
    '../_base_/schedules/lars_coslr-100e_in1k.py',
    '../_base_/default_runtime.py',
]
