# The pieces every R18-C4 evaluation shares (MoCo's detectron2 setting, PCD Sec. 4.1): ResNet-18 stages 1-3 are
# the backbone (256 channels at stride 16) and stage 4 is the RoI head's shared head (512 channels); both load the
# distilled student, exported with NormRescale 0.25 (tools/benchmarks/run_downstream.py does it). Every layer is
# fine-tuned, with SyncBN (trained statistics). The shared head is MoCo's Res5ROIHeadsExtraNorm: stage 4 then a new BN
# (mmselfsup's ResLayerExtraNorm; 512 channels, 2048 for ResNet-50), which the student's file does not hold (a fresh
# BN, as detectron2's). Names start with pcd_ so that they do not clash with mmdet's bases.
_base_ = './detectron2_pcd.py'
pcd_pretrained = 'work_dirs/pcd_student_normrescale.pth'
pcd_norm_cfg = dict(type='SyncBN', requires_grad=True)
pcd_c4_model = dict(
    data_preprocessor=dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], bgr_to_rgb=True),
    backbone=dict(depth=18, style='pytorch', frozen_stages=-1, norm_cfg=pcd_norm_cfg, norm_eval=False,
                  init_cfg=dict(type='Pretrained', checkpoint=pcd_pretrained)),
    rpn_head=dict(in_channels=256, feat_channels=256), roi_head=dict(
        shared_head=dict(type='ResLayerExtraNorm', depth=18, style='pytorch', norm_cfg=pcd_norm_cfg, norm_eval=False,
                         init_cfg=dict(type='Pretrained', checkpoint=pcd_pretrained)),
        bbox_roi_extractor=dict(out_channels=256), bbox_head=dict(in_channels=512)))
