# The CPU dense benchmark's DisCo row: PCD's dense recipe (configs/pcd/dense_cpu/: EfficientNet-Lite0 teacher, 128 px
# views of data/pets_mini, batch 32, queue 512, LARS, 20 epochs) with DisCo's student in place of φ, MHSA and the
# pixel loss, as the classification benchmark's DisCo row (configs/disco/cpu/).
_base_ = '../../pcd/dense_cpu/pcd_resnet18-effnetlite0_1xb32-lars-20e_pets-mini.py'
model = dict(_delete_=True, type='DisCo', data_preprocessor=_base_.model.data_preprocessor,
             backbone=_base_.model.backbone, neck=dict(type='MoCoV2Neck', in_channels=512, hid_channels=2048),
             head=dict(type='ContrastiveHead', loss=dict(type='mmcls.CrossEntropyLoss'),
                       temperature=0.2), queue=dict(type='EmbeddingQueue', queue_len=_base_.model.head.queue_len),
             teacher=_base_.model.teacher, teacher_ckpt=_base_.model.teacher_ckpt,
             teacher_ckpt_format=_base_.model.teacher_ckpt_format, channels_last=_base_.model.channels_last)
