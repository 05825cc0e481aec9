# configs/benchmarks/classification/imagenet/resnet18_linear-8xb128-coslr-100e_in1k.py on data/cifar10_mini
# (1000 train / 200 val images in ImageNet-style folders), 10 classes, 64 px, 2 epochs.
_base_ = ['../../configs/benchmarks/classification/imagenet/resnet18_linear-8xb128-coslr-100e_in1k.py', './_short_.py']
data_root = 'data/cifar10_mini/'
model = dict(data_preprocessor=dict(num_classes=10), head=dict(num_classes=10, topk=(1, )))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=64),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackClsInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=73, edge='short'),
    dict(type='CenterCrop', crop_size=64),
    dict(type='PackClsInputs')
]
dataset = dict(_delete_=True, type='CustomDataset', data_root=data_root)
train_dataloader = dict(
    batch_size=64, **_base_.loader, dataset=dict(**dataset, ann_file='meta/train.txt', data_prefix='train/',
                                                 pipeline=train_pipeline))
val_dataloader = dict(batch_size=64, **_base_.loader, dataset=dict(**dataset, ann_file='meta/val.txt',
                                                                   data_prefix='val/', pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = test_evaluator = dict(type='Accuracy', topk=(1, ))
max_epochs = 2
param_scheduler = [dict(type='CosineAnnealingLR', T_max=max_epochs, by_epoch=True, begin=0, end=max_epochs)]
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(logger=dict(interval=5))
