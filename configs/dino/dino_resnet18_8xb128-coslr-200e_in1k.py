# Plain DINO on ResNet-18, the baseline of SSLight (Tan et al., 2023, Table 4: 62.2 % linear top-1): DINO's
# multi-crop (2 x 224 px at scale (0.14, 1) + 6 x 96 px at (0.05, 0.14)), the mean over all view pairs,
# batch 1024, LARS lr 0.48 x 1024/256, 200 epochs (Table 8).
_base_ = [
    '../_base_/models/dino_resnet18.py',
    '../_base_/datasets/imagenet_dino_mcrop-2-6.py',
    '../_base_/schedules/lars-warmup_coslr-200e_in1k.py',
    '../_base_/default_runtime.py',
]
