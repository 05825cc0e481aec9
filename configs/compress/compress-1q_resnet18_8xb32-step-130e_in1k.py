# CompRess-1q (Koohpayegani et al. NeurIPS 2020; UMBCvision/CompRess train_student_one_queue.py, nn/compress_loss.py
# CompReSSA): SEED's algorithm with CompRess's loss: the teacher's and the student's similarities to one queue of
# 128000 teacher embeddings (no positive), both at τ = 0.04. The teacher embedding is its pooled backbone
# (the released head is not used: model_t.fc = nn.Sequential()); the student's is its pooled backbone through one
# Linear to the teacher's width (student.fc = nn.Linear). One view: RandomResizedCrop + flip. SGD lr 0.01 at batch
# 256, momentum 0.9, weight decay 1e-4, 130 epochs, lr x 0.2 at epochs 90 and 120.
_base_ = [
    '../_base_/models/seed_r18.py',
    '../_base_/datasets/imagenet_mocov2.py',
    '../_base_/schedules/sgd_coslr-200e_in1k.py',
    '../_base_/default_runtime.py',
]
model = dict(neck=dict(_delete_=True, type='LinearNeck', in_channels=512, out_channels=2048),
             head=dict(queue_len=128000, student_temperature=0.04, teacher_temperature=0.04,
                       with_positive=False), teacher=dict(neck=None))
train_pipeline = _base_.train_pipeline
train_pipeline[1].update(
    num_views=1, transforms=[[
        dict(type='RandomResizedCrop', size=_base_.crop_size, backend='pillow'),
        dict(type='RandomFlip', prob=0.5)
    ]])
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
optim_wrapper = dict(optimizer=dict(lr=0.01))
max_epochs = 130
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[90, 120], gamma=0.2)]
train_cfg = dict(max_epochs=max_epochs)
