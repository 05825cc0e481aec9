# ImageNet with BYOL's two augmentation distributions (PCD, Sec. 3.2).
dataset_type = 'mmcls.ImageNet'
data_root = 'data/imagenet/'
crop_size = 224


def _view(blur_prob, solarize_prob):
    return [
        dict(type='RandomResizedCrop', size=crop_size, scale=(0.08, 1.0), interpolation='bicubic', backend='pillow'),
        dict(type='RandomFlip', prob=0.5),
        dict(type='RandomApply', prob=0.8,
             transforms=[dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1)]),
        dict(type='RandomGrayscale', prob=0.2, keep_channels=True, channel_weights=(0.114, 0.587, 0.2989)),
        dict(type='RandomGaussianBlur', sigma_min=0.1, sigma_max=2.0, prob=blur_prob),
        dict(type='RandomSolarize', prob=solarize_prob),
    ]


train_pipeline = [
    dict(type='LoadImageFromFileChecked'),  # a bad image file is named in the error
    dict(type='MultiView', num_views=[1, 1], transforms=[_view(1.0, 0.0), _view(0.1, 0.2)]),
    dict(type='PackSelfSupInputs', meta_keys=['img_path']),
]
train_dataloader = dict(
    batch_size=128,
    num_workers=8,
    persistent_workers=True,
    pin_memory=True,
    drop_last=True,  # as mmselfsup's recipes; a short last batch also works (the queue is a ring buffer)
    # every sample of every epoch its own augmentation seed: fresh views each epoch, exact resume
    sampler=dict(type='SeededAugmentationSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type=dataset_type, data_root=data_root, ann_file='meta/train.txt', data_prefix=dict(img_path='train/'),
                 pipeline=train_pipeline))
