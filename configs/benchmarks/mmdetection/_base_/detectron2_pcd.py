# What MoCo's and PixPro's detectron2 fine-tuning (PCD Sec. 4.1: "strictly following [23, 56]") sets beyond mmdet's
# defaults, for every detection config (VOC and COCO, C4 and FPN); docs/downstream.md lists each setting's source.
# - Precise BN before each evaluation and at the end (TEST.PRECISE_BN.ENABLED, NUM_ITER 200: MoCo's
#   Base-RCNN-C4-BN.yaml; the FPN setting of the PCD authors' NormRescale code, megvii-research/revisitAIRL
#   det/partial_coco_R_50_FPN.yaml): PreciseBNHook (mmpcd/downstream).
# - No weight decay on the norm layers' weights and biases (detectron2's SOLVER.WEIGHT_DECAY_NORM = 0.0): plugged in
#   by the leaves as `optim_wrapper = _base_.pcd_optim_wrapper` (mmdet's schedule bases define optim_wrapper).
# The imports: ResLayerExtraNorm (the C4 head, mmselfsup's port of MoCo's Res5ROIHeadsExtraNorm), PreciseBNHook and
# MobileNetV3Res5SharedHead.
custom_imports = dict(imports=['mmselfsup.models.utils.res_layer_extra_norm', 'mmpcd.downstream'],
                      allow_failed_imports=False)
custom_hooks = [dict(type='PreciseBNHook', num_iters=200)]
pcd_optim_wrapper = dict(paramwise_cfg=dict(norm_decay_mult=0.))
