# ImageNet with SwAV's multi-crop (OSS A.1 "Multi-view generation": "2 x 224 + 6 x 96", SwAV's augmentation):
# 2 views of 224 px at scale (0.14, 1), 6 of 96 px at (0.05, 0.14); colour distortion of strength 1, blur 0.5,
# flip (mmselfsup's configs/selfsup/_base_/datasets/imagenet_swav_mcrop-2-6.py). 64 images per GPU (A.1).
_base_ = './imagenet_pcd.py'  # its loader, another pipeline

crop_size = 224


def _view(size, scale):
    return [
        dict(type='RandomResizedCrop', size=size, scale=scale, backend='pillow'),
        dict(type='RandomApply', prob=0.8,
             transforms=[dict(type='ColorJitter', brightness=0.8, contrast=0.8, saturation=0.8, hue=0.2)]),
        dict(type='RandomGrayscale', prob=0.2, keep_channels=True, channel_weights=(0.114, 0.587, 0.2989)),
        dict(type='RandomGaussianBlur', sigma_min=0.1, sigma_max=2.0, prob=0.5),
        dict(type='RandomFlip', prob=0.5),
    ]


train_pipeline = [
    dict(type='LoadImageFromFileChecked'),
    dict(type='MultiView', num_views=[2, 6], transforms=[_view(crop_size, (0.14, 1.0)),
                                                         _view(96, (0.05, 0.14))]),
    dict(type='PackSelfSupInputs', meta_keys=['img_path']),
]
train_dataloader = dict(batch_size=64, dataset=dict(pipeline=train_pipeline))
