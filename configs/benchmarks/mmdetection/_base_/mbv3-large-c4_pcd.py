# The MobileNet v3 Large student (Table 6) in the C4 setting: stem-res4 of appendix B.2 are the backbone (112
# channels at stride 16) and res5 (bottlenecks 13-15 + the last conv, 960 channels) is the RoI head's shared head,
# as ResNet's stage 4 is in r18-c4_pcd.py; both load the student exported with NormRescale 0.25. Merged by the leaf
# configs onto the R18-C4 model.
# BN eps: the student was pre-trained with eps 1e-3 (mmcls' MobileNet v3). NormRescale divides the running variances
# by 16, so eps must be divided by 16 too for the rescaled network to compute the same function: with eps 1e-3 kept,
# the outputs of res2-res5 move by 22-95% in train mode (1-3% in eval), with 1e-3 * 0.25**2 they are exact
# (tests/test_exports.py). ResNets were pre-trained with eps 1e-5, small enough to keep (0.02-0.1%).
# No extra norm after res5 (the ResNets' ResLayerExtraNorm, MoCo's Res5ROIHeadsExtraNorm): MobileNet's res5 already
# ends in a BN (its last layer, layer16, is 1x1 conv, BN, hardswish), whereas ResNet's res5 ends with a residual sum
# that no BN follows, which is what detectron2's extra norm normalises.
# MobileNetV3Res5SharedHead is imported by the leaves' custom_imports (_base_/detectron2_pcd.py).
pcd_mbv3_pretrained = 'work_dirs/pcd_student_normrescale.pth'
pcd_mbv3_norm_cfg = dict(type='SyncBN', eps=0.001 * 0.25**2, requires_grad=True)
pcd_mbv3_c4_model = dict(
    backbone=dict(_delete_=True, type='mmselfsup.MobileNetV3Stages', out_stages=('res4', ), norm_cfg=pcd_mbv3_norm_cfg,
                  init_cfg=dict(type='Pretrained', checkpoint=pcd_mbv3_pretrained)),
    rpn_head=dict(in_channels=112, feat_channels=112), roi_head=dict(
        shared_head=dict(_delete_=True, type='MobileNetV3Res5SharedHead', norm_cfg=pcd_mbv3_norm_cfg,
                         init_cfg=dict(type='Pretrained', checkpoint=pcd_mbv3_pretrained)),
        bbox_roi_extractor=dict(out_channels=112), bbox_head=dict(in_channels=960)))
