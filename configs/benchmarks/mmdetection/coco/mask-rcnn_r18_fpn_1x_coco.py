# COCO (Table 1): Mask R-CNN R18-FPN, 1x schedule, AP^bbox and AP^mask. All layers fine-tuned with SyncBN in the
# backbone, the FPN and the heads: the 4conv-1fc box head and the mask head with SyncBN (PixPro's / MoCo's FPN setting
# as mmselfsup's port mask-rcnn_r50_fpn_ms-1x_coco.py has it; detectron2 ROI_BOX_HEAD NUM_CONV 4, NUM_FC 1, NORM
# SyncBN); multi-scale 640-800 and 1000 warm-up iterations (../_base_/coco_pcd.py); precise BN, no weight decay on
# norm layers (../_base_/detectron2_pcd.py). No NormRescale (the paper applies it to C4 and FCN only): the plain export.
# Paper (Table 1, PCD R18): AP^bbox 37.4, AP^mask 34.0 (ImageNet supervised R18: 36.3 / 33.0).
_base_ = ['mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py', '../_base_/detectron2_pcd.py', '../_base_/coco_pcd.py']
pcd_norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    data_preprocessor=dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], bgr_to_rgb=True),
    backbone=dict(depth=18, frozen_stages=-1, norm_cfg=pcd_norm_cfg, norm_eval=False,
                  init_cfg=dict(type='Pretrained',
                                checkpoint='work_dirs/pcd_student.pth')), neck=dict(in_channels=[64, 128, 256, 512],
                                                                                    norm_cfg=pcd_norm_cfg),
    roi_head=dict(bbox_head=dict(type='Shared4Conv1FCBBoxHead', norm_cfg=pcd_norm_cfg),
                  mask_head=dict(norm_cfg=pcd_norm_cfg)))
train_dataloader = dict(dataset=dict(pipeline=_base_.pcd_coco_train_pipeline))
param_scheduler = _base_.pcd_coco_param_scheduler
optim_wrapper = _base_.pcd_optim_wrapper
