# ImageNet with MoCo v2's augmentation ("aug-plus"), as SEED and DisCo train: two views of one distribution.
_base_ = './imagenet_pcd.py'

view_pipeline = [
    dict(type='RandomResizedCrop', size=_base_.crop_size, scale=(0.2, 1.), backend='pillow'),
    dict(type='RandomApply', prob=0.8,
         transforms=[dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1)]),
    dict(type='RandomGrayscale', prob=0.2, keep_channels=True, channel_weights=(0.114, 0.587, 0.2989)),
    dict(type='RandomGaussianBlur', sigma_min=0.1, sigma_max=2.0, prob=0.5),
    dict(type='RandomFlip', prob=0.5),
]
train_pipeline = [
    dict(type='LoadImageFromFileChecked'),
    dict(type='MultiView', num_views=2, transforms=[view_pipeline]),
    dict(type='PackSelfSupInputs', meta_keys=['img_path']),
]
train_dataloader = dict(batch_size=32, dataset=dict(pipeline=train_pipeline))
