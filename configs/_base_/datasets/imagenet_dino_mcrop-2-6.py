# ImageNet with DINO's multi-crop (Caron et al., 2021; facebookresearch/dino main_dino.py DataAugmentationDINO):
# 2 global views of 224 px, scale (0.14, 1) (blur 1.0 / 0.1, solarize 0 / 0.2), 6 local views of 96 px,
# scale (0.05, 0.14) (blur 0.5). Leaves change the crops' sizes and scales (SSLight) in train_pipeline[1].
_base_ = './imagenet_pcd.py'  # its loader (batch 128 per process), another pipeline

crop_size = 224


def _view(size, scale, blur_prob, solarize_prob):
    return [
        dict(type='RandomResizedCrop', size=size, scale=scale, interpolation='bicubic', backend='pillow'),
        dict(type='RandomFlip', prob=0.5),
        dict(type='RandomApply', prob=0.8,
             transforms=[dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1)]),
        dict(type='RandomGrayscale', prob=0.2, keep_channels=True, channel_weights=(0.114, 0.587, 0.2989)),
        dict(type='RandomGaussianBlur', sigma_min=0.1, sigma_max=2.0, prob=blur_prob),
        dict(type='RandomSolarize', prob=solarize_prob),
    ]


train_pipeline = [
    dict(type='LoadImageFromFileChecked'),
    dict(
        type='MultiView', num_views=[1, 1, 6], transforms=[
            _view(crop_size, (0.14, 1.0), 1.0, 0.0),
            _view(crop_size, (0.14, 1.0), 0.1, 0.2),
            _view(96, (0.05, 0.14), 0.5, 0.0)
        ]),
    dict(type='PackSelfSupInputs', meta_keys=['img_path']),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
