# ImageNet linear probe (Sec. 4.1): the distilled ResNet-18 frozen (weights and BN statistics), a linear
# classifier on its pooled features; nesterov SGD, lr 0.2 per 256 images (0.8 at 8 x 128 = 1024), momentum
# 0.9, no weight decay, cosine, 100 epochs; RandomResizedCrop 224 + flip; single-crop (256 -> 224) top-1.
# Paper (Table 1, PCD R18): top-1 65.1 (ImageNet supervised R18, its own classifier: 69.8).
_base_ = ['mmcls::_base_/datasets/imagenet_bs32.py', 'mmcls::_base_/default_runtime.py']
model = dict(
    type='ImageClassifier', data_preprocessor=dict(num_classes=1000, mean=[123.675, 116.28, 103.53],
                                                   std=[58.395, 57.12, 57.375], to_rgb=True),
    backbone=dict(type='ResNet', depth=18, frozen_stages=4, norm_eval=True,
                  init_cfg=dict(type='Pretrained', checkpoint='work_dirs/pcd_student.pth')),
    neck=dict(type='GlobalAveragePooling'), head=dict(type='LinearClsHead', num_classes=1000, in_channels=512,
                                                      loss=dict(type='CrossEntropyLoss', loss_weight=1.0), topk=(1, 5)))
train_dataloader = dict(batch_size=128)
val_dataloader = dict(batch_size=128)
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.2, momentum=0.9, weight_decay=0.,
                                                         nesterov=True))
auto_scale_lr = dict(base_batch_size=256, enable=True)
max_epochs = 100
param_scheduler = [dict(type='CosineAnnealingLR', T_max=max_epochs, by_epoch=True, begin=0, end=max_epochs)]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=10)
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=3))
