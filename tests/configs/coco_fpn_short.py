_base_ = ['../../configs/benchmarks/mmdetection/coco/mask-rcnn_r18_fpn_1x_coco.py', './coco_short.py', './_short_.py']
model = _base_.few_rois
train_dataloader = _base_.coco_train_dataloader
val_dataloader = test_dataloader = _base_.coco_val_dataloader
val_evaluator = test_evaluator = _base_.coco_val_evaluator
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=4, val_interval=4)
param_scheduler = [dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=4)]
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(by_epoch=False, interval=4))
log_processor = dict(by_epoch=False)
custom_hooks = _base_.precise_bn_short
