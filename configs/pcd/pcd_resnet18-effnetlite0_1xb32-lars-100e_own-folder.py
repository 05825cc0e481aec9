# Your own images (docs/own_data.md): distil the ResNet-18 student from the packaged EfficientNet-Lite0 teacher on
# every image under one folder, its sub-folders included (.jpg, .jpeg, .png, .ppm, .bmp, .pgm, .tif, .tiff, .webp,
# any case; no labels). The demo's recipe (configs/pcd_r18_demo.py: LARS at lr 1.0 unscaled, 112 px crops) at
# batch 32 and queue 1024 (the CPU benchmark's), 100 epochs. Point it at the folder:
#   python tools/train.py configs/pcd/pcd_resnet18-effnetlite0_1xb32-lars-100e_own-folder.py \
#       --cfg-options train_dataloader.dataset.data_root=/path/to/images
_base_ = '../pcd_r18_demo.py'

model = dict(head=dict(queue_len=1024))

train_dataloader = dict(batch_size=32, persistent_workers=True, dataset=dict(data_root='data/own_images',
                                                                             data_prefix=dict(img_path='')))

warmup_epochs = 10
max_epochs = 100
warmup, cosine = param_scheduler = _base_.param_scheduler
warmup['end'] = cosine['begin'] = warmup_epochs
cosine.update(T_max=max_epochs - warmup_epochs, end=max_epochs)
train_cfg = dict(max_epochs=max_epochs)
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=10, max_keep_ckpts=3))
