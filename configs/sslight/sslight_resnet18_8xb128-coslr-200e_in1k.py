# SSLight (Tan et al., 2023) on ResNet-18: DINO with the view-sampling recipe of Sec. 3.3 / Table 8 (CN column):
# S_g = S_l = 0.3 (global crops of scale (0.3, 1), local ones of (0.05, 0.3), Sec. 3.3.1), local views of 128 px
# (GC/LC = 224/128, Sec. 3.3.2; mmpcd.datasets.view_sampling.matched_local_size gives 123 px), N_l = 6
# (Sec. 3.3.3), α = 0.4 (eq. 3, Sec. 3.3.4). Table 4: 65.7 % linear top-1 (DINO: 62.2 %).
_base_ = '../dino/dino_resnet18_8xb128-coslr-200e_in1k.py'

scale = 0.3
train_pipeline = _base_.train_pipeline
global1, global2, local = train_pipeline[1]['transforms']
for view in (global1, global2):
    view[0].update(scale=(scale, 1.0))
local[0].update(size=128, scale=(0.05, scale))

model = dict(head=dict(global_weight=0.4))
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
