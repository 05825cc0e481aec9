# Shared by the short runs: a few iterations on the mini data sets on a CPU, evaluated at the end.
iters = 4
loader = dict(num_workers=0, persistent_workers=False)
# RoI heads run on every sampled RoI (C4: stage 4 of the ResNet; FPN: the 4conv-1fc box head and the mask head), and
# the mask head on every kept detection: few proposals and RoIs keep an iteration in seconds on a CPU (the parents'
# 512 RoIs took 13-15 s an iteration of the FPN run, and 100 kept detections 5 s a val image); up to 20
# detections are kept whatever their score, since after 4 iterations few pass mmdet's 0.05 score threshold.
few_rois = dict(train_cfg=dict(rpn_proposal=dict(nms_pre=600, max_per_img=100), rcnn=dict(sampler=dict(num=32))),
                test_cfg=dict(rpn=dict(nms_pre=300, max_per_img=50), rcnn=dict(score_thr=0., max_per_img=20)))
# Precise BN (the detection configs' PreciseBNHook, 200 batches) on 2 batches of the training data.
precise_bn_short = [dict(type='PreciseBNHook', num_iters=2)]
