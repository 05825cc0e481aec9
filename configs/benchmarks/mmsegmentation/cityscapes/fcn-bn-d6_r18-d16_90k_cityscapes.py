# Cityscapes (Table 1): the FCN-like model of PCD Sec. 4.1 on the distilled ResNet-18 (res5 dilated: output stride
# 16), with appendix B.1's schedule: SGD lr 0.01, momentum 0.9, wd 1e-4, batch 16 (8 x 2), 90k iterations, 1000
# warm-up iterations, steps at 63k and 81k; shortest edge 512-2048 (step 256), max 4096, random crop 512x1024 and
# flip; mean IoU on val. The backbone loads the student exported with NormRescale 0.25.
# Paper (Table 1, PCD R18, mean of 5 runs): mIoU 71.8 (ImageNet supervised R18: 70.2).
_base_ = ['mmseg::_base_/datasets/cityscapes.py', 'mmseg::_base_/default_runtime.py']
custom_imports = dict(imports=['mmpcd.downstream'], allow_failed_imports=False)
crop_size = (512, 1024)
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    type='EncoderDecoder', data_preprocessor=dict(type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53],
                                                  std=[58.395, 57.12, 57.375], bgr_to_rgb=True, pad_val=0,
                                                  seg_pad_val=255, size=crop_size),
    backbone=dict(type='ResNet', depth=18, num_stages=4, out_indices=(3, ), strides=(1, 2, 2, 1),
                  dilations=(1, 1, 1, 2), norm_cfg=norm_cfg, norm_eval=False, style='pytorch',
                  init_cfg=dict(type='Pretrained', checkpoint='work_dirs/pcd_student_normrescale.pth')),
    decode_head=dict(type='BNFCNHead', in_channels=512, in_index=0, channels=256, num_convs=2, kernel_size=3,
                     dilation=6, dropout_ratio=0., num_classes=19, norm_cfg=norm_cfg, align_corners=False,
                     loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False,
                                      loss_weight=1.0)), train_cfg=dict(), test_cfg=dict(mode='whole'))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomChoiceResize', scales=[(4096, short) for short in range(512, 2049, 256)], keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(batch_size=2, dataset=dict(pipeline=train_pipeline))
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4))
max_iters = 90000
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=1000),
    dict(type='MultiStepLR', milestones=[63000, 81000], gamma=0.1, by_epoch=False, begin=0, end=max_iters),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(  # mmseg keeps these in its schedules, which are not inherited here
    timer=dict(type='IterTimerHook'), logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'), checkpoint=dict(type='CheckpointHook', by_epoch=False,
                                                                     interval=max_iters),
    sampler_seed=dict(type='DistSamplerSeedHook'), visualization=dict(type='SegVisualizationHook'))
