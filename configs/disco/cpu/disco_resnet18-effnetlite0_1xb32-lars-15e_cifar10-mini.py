# The CPU distillation benchmark's DisCo row: PCD's CPU recipe (configs/pcd/cpu/: EfficientNet-Lite0 teacher, 64 px
# views of data/cifar10_mini, batch 32, queue 1024, LARS, 15 epochs) with DisCo's student (MoCo v2 with hidden width
# 2048, momentum encoder, consistency of both views with the teacher's 1000-d embedding, summed over the 32 images as
# over DisCo's 32 a process) in place of φ, MHSA and the pixel loss.
_base_ = '../../pcd/cpu/pcd_resnet18-effnetlite0_1xb32-lars-15e_cifar10-mini.py'
model = dict(_delete_=True, type='DisCo', data_preprocessor=_base_.model.data_preprocessor,
             backbone=_base_.model.backbone, neck=dict(type='MoCoV2Neck', in_channels=512, hid_channels=2048),
             head=dict(type='ContrastiveHead', loss=dict(type='mmcls.CrossEntropyLoss'),
                       temperature=0.2), queue=dict(type='EmbeddingQueue', queue_len=_base_.model.head.queue_len),
             teacher=_base_.model.teacher, teacher_ckpt=_base_.model.teacher_ckpt,
             teacher_ckpt_format=_base_.model.teacher_ckpt_format, channels_last=_base_.model.channels_last)
