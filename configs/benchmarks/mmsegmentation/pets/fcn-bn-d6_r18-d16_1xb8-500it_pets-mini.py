# The Cityscapes FCN of Table 1 (../cityscapes/fcn-bn-d6_r18-d16_90k_cityscapes.py: its head, dilation, NormRescale
# export, optimiser and schedule shape) fine-tuned on data/pets_mini (Oxford-IIIT Pet, CC BY-SA 4.0: background and
# three breeds, 255 the trimap's border band, ignored) at CPU scale, by tools/benchmarks/finetune_cpu.py
# (docs/finetune_benchmark.md). Only what the scale forces differs from the parent, each change commented here;
# tests/test_finetune_benchmark.py checks that nothing else does. Another folder in the same layout:
# --cfg-options train_dataloader.dataset.data_root=DIR val_dataloader.dataset.data_root=DIR (docs/own_data.md).
_base_ = ['../cityscapes/fcn-bn-d6_r18-d16_90k_cityscapes.py']
data_root = 'data/pets_mini/'
# the data: pets_mini's images at their size (shorter side 160 px, 1/6.4 of Cityscapes' 1024) and 4 classes
metainfo = dict(classes=('background', 'Abyssinian', 'american_bulldog', 'Bengal'), palette=[[0, 0, 0], [255, 127, 14],
                                                                                             [31, 119, 180],
                                                                                             [44, 160, 44]])
num_classes = 4
# the parent's scales divided by 6.4: shorter side 80-320 (0.5x-2x, 7 steps as 512-2048 by 256), crop 128 x 128
crop_size = (128, 128)
norm_cfg = dict(type='BN', requires_grad=True)  # SyncBN in one process is BN
model = dict(data_preprocessor=dict(size=crop_size), backbone=dict(norm_cfg=norm_cfg),
             decode_head=dict(num_classes=num_classes, norm_cfg=norm_cfg))
train_pipeline = [
    *_base_.train_pipeline[:2],
    dict(type='RandomChoiceResize', scales=[(640, short) for short in range(80, 321, 40)], keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size), *_base_.train_pipeline[4:]
]
# evaluated at the images' own size, as the parent's at 2048 x 1024
test_pipeline = [
    _base_.test_pipeline[0],
    dict(type='Resize', scale=(640, 160), keep_ratio=True), *_base_.test_pipeline[2:]
]
dataset = dict(type='BaseSegDataset', data_root=data_root, metainfo=metainfo, img_suffix='.jpg', seg_map_suffix='.png',
               reduce_zero_label=False)
# batch 8 in one process (the parent's 8 x 2 = 16: an iteration of 16 took 4 CPU-seconds), lr scaled with it (linear
# scaling, as mmengine's auto_scale_lr); no worker processes on 2 cores
optim_wrapper = dict(optimizer=dict(lr=0.01 * 8 / 16))
loader = dict(num_workers=0, persistent_workers=False)
train_dataloader = dict(
    batch_size=8, **loader, dataset=dict(**dataset, data_prefix=dict(img_path='train/images',
                                                                     seg_map_path='train/labels'),
                                         pipeline=train_pipeline))
val_dataloader = dict(
    **loader, dataset=dict(**dataset, data_prefix=dict(img_path='val/images', seg_map_path='val/labels'),
                           pipeline=test_pipeline))
test_dataloader = val_dataloader
# the schedule: 500 iterations (about 13 epochs of the 300 train images), the parent's shape scaled by 500 / 90k:
# warm-up over the first 1/90, steps at 70 % and 90 %
max_iters = 500
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=max_iters // 90),
    dict(type='MultiStepLR', milestones=[max_iters * 7 // 10, max_iters * 9 // 10], gamma=0.1, by_epoch=False, begin=0,
         end=max_iters),
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=max_iters))
