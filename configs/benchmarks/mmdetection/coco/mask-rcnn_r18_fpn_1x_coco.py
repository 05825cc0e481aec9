# COCO (Table 1): Mask R-CNN R18-FPN, 1x schedule, AP^bbox and AP^mask. All layers fine-tuned with SyncBN in the
# backbone and the FPN; no NormRescale (the paper applies it to C4 and FCN only): load the plain export.
_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'
pcd_norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    data_preprocessor=dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], bgr_to_rgb=True),
    backbone=dict(
        depth=18, frozen_stages=-1, norm_cfg=pcd_norm_cfg, norm_eval=False,
        init_cfg=dict(type='Pretrained', checkpoint='work_dirs/pcd_student.pth')),
    neck=dict(in_channels=[64, 128, 256, 512], norm_cfg=pcd_norm_cfg))
