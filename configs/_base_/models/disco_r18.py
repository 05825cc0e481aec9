# DisCo (Gao et al. ECCV 2022) on MoCo v2: ResNet-18 student with MoCo v2's projection (Linear - ReLU - Linear), its
# hidden width enlarged to 2048 against the distilling bottleneck, a momentum encoder (m = 0.999), a
# queue of 65536 keys and τ = 0.2 (MoCo v2's); consistency (summed squared error) of both views with the teacher's
# embedding, λ = 1. The teacher, its checkpoint and the input normalization are PCD's, its embedding the whole released
# head, affine-free last BN included (DisCo's teacher_encoder_q is the whole network); the projection's output and
# the queue follow its embedding.
_base_ = './pcd_r18.py'
model = dict(_delete_=True, type='DisCo', data_preprocessor=_base_.model.data_preprocessor,
             backbone=_base_.model.backbone, neck=dict(type='MoCoV2Neck', in_channels=512, hid_channels=2048),
             head=dict(type='ContrastiveHead', loss=dict(type='mmcls.CrossEntropyLoss'),
                       temperature=0.2), queue=dict(type='EmbeddingQueue', queue_len=65536), momentum=0.999,
             distill_weight=1.0, teacher=dict(_base_.model.teacher,
                                              neck=dict(_base_.model.teacher.neck,
                                                        last_bn=True)), teacher_ckpt=_base_.model.teacher_ckpt,
             teacher_ckpt_format=_base_.model.teacher_ckpt_format, channels_last=_base_.model.channels_last)
