# The CPU distillation benchmark's SEED row: PCD's CPU recipe (configs/pcd/cpu/: EfficientNet-Lite0 teacher, 64 px
# views of data/cifar10_mini, batch 32, queue 1024, LARS, 15 epochs) with SEED's student projection and loss in place
# of φ, MHSA and the pixel loss: the teacher embedding is its classifier on the pooled map (1000-d); τ_S 0.2 and
# τ_T 1e-4, SimilarityDistillHead's defaults (SEED's tools/opts.py).
_base_ = '../../pcd/cpu/pcd_resnet18-effnetlite0_1xb32-lars-15e_cifar10-mini.py'
model = dict(_delete_=True, type='SEED', data_preprocessor=_base_.model.data_preprocessor,
             backbone=_base_.model.backbone, neck=dict(type='MoCoV2Neck', in_channels=512, hid_channels=512),
             head=dict(type='SimilarityDistillHead', queue_len=_base_.model.head.queue_len),
             teacher=_base_.model.teacher, teacher_ckpt=_base_.model.teacher_ckpt,
             teacher_ckpt_format=_base_.model.teacher_ckpt_format, channels_last=_base_.model.channels_last)
