# VOC07 (Table 1): as the 07+12 setting, trained on trainval2007 only for 9k iterations (steps at 6k and 8k, the
# 24k schedule's proportions).
_base_ = './faster-rcnn_r18-c4_ms-24k_voc0712.py'
train_dataloader = dict(dataset=dict(_delete_=True, **_base_.train_dataloader.dataset.datasets[0]))
max_iter = 9000
train_cfg = dict(max_iters=max_iter, val_interval=max_iter)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=100),
    dict(type='MultiStepLR', begin=0, end=max_iter, by_epoch=False, milestones=[6000, 8000], gamma=0.1),
]
default_hooks = dict(checkpoint=dict(interval=max_iter))
