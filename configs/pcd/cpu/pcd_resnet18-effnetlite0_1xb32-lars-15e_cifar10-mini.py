# The CPU distillation benchmark (tools/benchmarks/distill_cpu.py): the demo's recipe (the paper's, scaled to a
# 2-core CPU: LARS at lr 1.0 unscaled; real EfficientNet-Lite0 teacher; φ and MHSA as in the paper) on the 1000
# unlabelled train images of data/cifar10_mini: 64 px crops of scale 0.2-1 (the images are 32 px), batch 32,
# queue 1024, 15 epochs. docs/distillation_benchmark.md says why.
_base_ = '../../pcd_r18_demo.py'

crop_size = 64
train_pipeline = _base_.train_pipeline
for view in train_pipeline[1]['transforms']:
    view[0].update(size=crop_size, scale=(0.2, 1.0))

model = dict(head=dict(queue_len=1024))

train_dataloader = dict(batch_size=32, persistent_workers=True, dataset=dict(data_root='data/cifar10_mini',
                                                                             pipeline=train_pipeline))

warmup_epochs = 2
max_epochs = 15
warmup, cosine = param_scheduler = _base_.param_scheduler
warmup['end'] = cosine['begin'] = warmup_epochs
cosine.update(T_max=max_epochs - warmup_epochs, end=max_epochs)
train_cfg = dict(max_epochs=max_epochs)
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=max_epochs))
# The student's weighted k-NN top-1 on the labelled splits of data/cifar10_mini before the first epoch and every 3
# (docs/online_eval.md): about 2 s an evaluation on this CPU
custom_hooks = [
    *_base_.custom_hooks,
    dict(type='OnlineEvalHook', data_root='data/cifar10_mini', image_size=crop_size, interval=3)
]
