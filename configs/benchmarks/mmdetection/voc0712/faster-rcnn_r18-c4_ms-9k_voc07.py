# VOC07 (Table 1): as the 07+12 setting, trained on trainval2007 only for 9k iterations with steps at 6.75k and 8.25k
# and 100 warm-up iterations: the schedule of the PCD authors' NormRescale code (megvii-research/revisitAIRL,
# det/voc07_R_50_C4_9k.yaml: STEPS (6750, 8250), MAX_ITER 9000, WARMUP_ITERS 100); the paper gives only the 9k.
# Paper (Table 1, PCD R18, mean of 5 runs): AP50 73.0, AP 43.2 (ImageNet supervised R18: 70.0 / 38.2).
_base_ = './faster-rcnn_r18-c4_ms-24k_voc0712.py'
train_dataloader = dict(dataset=dict(_delete_=True, **_base_.train_dataloader.dataset.datasets[0]))
max_iter = 9000
train_cfg = dict(max_iters=max_iter, val_interval=max_iter)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=100),
    dict(type='MultiStepLR', begin=0, end=max_iter, by_epoch=False, milestones=[6750, 8250], gamma=0.1),
]
default_hooks = dict(checkpoint=dict(interval=max_iter))
