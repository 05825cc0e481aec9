# The CPU dense benchmark (tools/benchmarks/dense_cpu.py, docs/dense_benchmark.md): the CPU distillation
# benchmark's recipe (configs/pcd/cpu/: the real EfficientNet-Lite0 teacher, φ and MHSA as in the paper, LARS at
# lr 1.0, batch 32) on the 300 unlabelled train images of data/pets_mini, at 128 px crops of scale 0.2-1: the
# student's and the teacher's last maps are 4 x 4 (2 x 2 at the 64 px of the classification benchmark), room for a
# pixel-wise loss. Queue 512: under one epoch of keys (9 steps x 32 images x 2 views = 576), so no image meets
# its own earlier views among the negatives. 20 epochs (180 iterations): about 7 min a run on 2 free cores.
_base_ = '../../pcd_r18_demo.py'

crop_size = 128
train_pipeline = _base_.train_pipeline
for view in train_pipeline[1]['transforms']:
    view[0].update(size=crop_size, scale=(0.2, 1.0))

model = dict(head=dict(queue_len=512))

train_dataloader = dict(
    batch_size=32, persistent_workers=True,
    dataset=dict(data_root='data/pets_mini', data_prefix=dict(img_path='train/images/'), pipeline=train_pipeline))

warmup_epochs = 2
max_epochs = 20
warmup, cosine = param_scheduler = _base_.param_scheduler
warmup['end'] = cosine['begin'] = warmup_epochs
cosine.update(T_max=max_epochs - warmup_epochs, end=max_epochs)
train_cfg = dict(max_epochs=max_epochs)
default_hooks = dict(logger=dict(interval=9), checkpoint=dict(interval=max_epochs))
