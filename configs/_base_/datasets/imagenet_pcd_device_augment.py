# imagenet_pcd.py with the two views made on the GPU (docs/device_augment.md): the loader's workers read, decode and
# draw each sample's view parameters from its SeededAugmentationSampler seed exactly as the CPU pipeline does;
# DeviceAugmentDataPreprocessor computes the views batched on the model's device. The views are the CPU base's,
# read here once and given to both.
# A dataset base cannot set `model` beside a model base (mmengine refuses keys set by two bases): the leaf config
# sets model = dict(data_preprocessor=_base_.device_augment_preprocessor).
_base_ = './imagenet_pcd.py'

device_augment_views = _base_.train_pipeline[1]
device_augment_preprocessor = dict(type='DeviceAugmentDataPreprocessor', views=device_augment_views)
train_pipeline = [
    _base_.train_pipeline[0],  # LoadImageFromFileChecked
    dict(type='PackImageForDeviceAugment', views=device_augment_views),
]
train_dataloader = dict(collate_fn=dict(type='pseudo_collate'), dataset=dict(pipeline=train_pipeline))
