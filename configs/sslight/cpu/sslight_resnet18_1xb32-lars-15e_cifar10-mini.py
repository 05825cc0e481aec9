# The CPU benchmark's SSLight row: ../../dino/cpu/dino_resnet18_1xb32-lars-15e_cifar10-mini.py with SSLight's
# recipe: S_g = S_l = 0.3, local views of 35 px (matched_local_size(64, 0.3): mean(PS_g/PS_l) = 1), α = 0.4.
_base_ = '../../dino/cpu/dino_resnet18_1xb32-lars-15e_cifar10-mini.py'

scale = 0.3
train_pipeline = _base_.train_pipeline
global1, global2, local = train_pipeline[1]['transforms']
for view in (global1, global2):
    view[0].update(scale=(scale, 1.0))
local[0].update(size=35, scale=(0.05, scale))

model = dict(head=dict(global_weight=0.4))
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
