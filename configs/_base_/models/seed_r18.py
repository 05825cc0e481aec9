# SEED (Fang et al. ICLR 2021): ResNet-18 student embedding = pooled backbone + MoCo v2's Linear - ReLU - Linear with
# the backbone's width as hidden width (SEED's --student_mlp, seed/builder.py); the teacher, its checkpoint and the
# input normalization are PCD's (MoCo v3 ResNet-50), its embedding the whole released head on the pooled map,
# affine-free last BN included (SEED's teacher is the whole network: seed/builder.py, t_emb = self.teacher(image)).
# The projection's output width and the queue's follow the teacher's embedding (256).
_base_ = './pcd_r18.py'
model = dict(
    _delete_=True,
    type='SEED',
    data_preprocessor=_base_.model.data_preprocessor,
    backbone=_base_.model.backbone,
    neck=dict(type='MoCoV2Neck', in_channels=512, hid_channels=512),
    # SEED's tools/opts.py: --queue 65536, --temp 0.2 (student), --distill-t 1e-4 (τ_T; docs/seed.md)
    head=dict(type='SimilarityDistillHead', queue_len=65536, student_temperature=0.2, teacher_temperature=1e-4),
    teacher=dict(_base_.model.teacher, neck=dict(_base_.model.teacher.neck, last_bn=True)),
    teacher_ckpt=_base_.model.teacher_ckpt,
    teacher_ckpt_format=_base_.model.teacher_ckpt_format,
    channels_last=_base_.model.channels_last)
