# VOC07+12 (Table 1): Faster R-CNN R18-C4, trainval07+12, 24k iterations, batch 16, lr 0.02, 100 warm-up iterations,
# steps 18k/22k, multi-scale training (480-800), test2007 at 800 (MoCo's pascal_voc_R_50_C4_24k_moco.yaml, as
# mmselfsup's port faster-rcnn_r50-c4_ms-24k_voc0712.py has it); the extra BN after res5 (../_base_/r18-c4_pcd.py),
# precise BN, no weight decay on norm layers (../_base_/detectron2_pcd.py). AP50 and AP (the mean over IoU .50:.95,
# VOC07 11-point AP at each threshold, as detectron2's PascalVOCDetectionEvaluator computes for MoCo).
# Paper (Table 1, PCD R18, mean of 5 runs): AP50 79.4, AP 52.1 (ImageNet supervised R18: 76.9 / 47.3).
_base_ = ['mmdet::pascal_voc/faster-rcnn_r50-caffe-c4_ms-18k_voc0712.py', '../_base_/r18-c4_pcd.py']
model = _base_.pcd_c4_model
optim_wrapper = _base_.pcd_optim_wrapper
max_iter = 24000
train_cfg = dict(max_iters=max_iter, val_interval=max_iter)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=100),
    dict(type='MultiStepLR', begin=0, end=max_iter, by_epoch=False, milestones=[18000, 22000], gamma=0.1),
]
val_evaluator = dict(type='VOCMetric', metric='mAP', eval_mode='11points',
                     iou_thrs=[0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95])
test_evaluator = val_evaluator
default_hooks = dict(checkpoint=dict(interval=max_iter))
