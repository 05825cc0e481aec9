# The CPU dense benchmark's SEED row: PCD's dense recipe (configs/pcd/dense_cpu/: EfficientNet-Lite0 teacher, 128 px
# views of data/pets_mini, batch 32, queue 512, LARS, 20 epochs) with SEED's student projection and loss in place of
# φ, MHSA and the pixel loss, as the classification benchmark's SEED row (configs/seed/cpu/).
_base_ = '../../pcd/dense_cpu/pcd_resnet18-effnetlite0_1xb32-lars-20e_pets-mini.py'
model = dict(_delete_=True, type='SEED', data_preprocessor=_base_.model.data_preprocessor,
             backbone=_base_.model.backbone, neck=dict(type='MoCoV2Neck', in_channels=512, hid_channels=512),
             head=dict(type='SimilarityDistillHead', queue_len=_base_.model.head.queue_len),
             teacher=_base_.model.teacher, teacher_ckpt=_base_.model.teacher_ckpt,
             teacher_ckpt_format=_base_.model.teacher_ckpt_format, channels_last=_base_.model.channels_last)
