# Shared by the short runs: a few iterations on the mini data sets on a CPU, evaluated at the end.
iters = 4
loader = dict(num_workers=0, persistent_workers=False)
# C4 heads run stage 4 of the ResNet on every sampled RoI: few proposals and RoIs keep an iteration in seconds
# on a CPU; every detection is kept, since after 4 iterations few pass mmdet's 0.05 score threshold.
c4_small = dict(train_cfg=dict(rpn_proposal=dict(nms_pre=600, max_per_img=100), rcnn=dict(sampler=dict(num=32))),
                test_cfg=dict(rpn=dict(nms_pre=300, max_per_img=50), rcnn=dict(score_thr=0.)))
# Precise BN (the detection configs' PreciseBNHook, 200 batches) on 2 batches of the training data.
precise_bn_short = [dict(type='PreciseBNHook', num_iters=2)]
