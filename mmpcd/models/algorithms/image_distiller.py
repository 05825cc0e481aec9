from typing import List, Optional, Union

import torch
import torch.nn.functional as F

from mmselfsup.structures import SelfSupDataSample
from .base_distiller import BaseDistiller
from .widths import check_student_width, check_teacher_width, follow_teacher_embedding


class ImageDistiller(BaseDistiller):
    """The image-level peers of PCD (SEED, CompRess-1q, DisCo): a student image embedding against the teacher's.

    The student embeds a view with its backbone, global average pooling and
    projection (``neck``, e.g. mmselfsup's ``MoCoV2Neck``); the teacher with
    :meth:`FrozenTeacher.embedding` (its head on the pooled backbone map).
    The projection's output width and the queue's follow the teacher
    embedding (:func:`follow_teacher_embedding`).

    Args:
        backbone: Student backbone config.
        neck: Student projection config (pools the backbone's last map).
        head: The algorithm's head config.
        teacher: ``dict(backbone=..., neck=...)``: the teacher backbone and
            its head as a :class:`SpatialAdaptor`, or None: the pooled
            backbone map is the embedding.
        teacher_ckpt: Local path of the released teacher checkpoint.
        teacher_ckpt_format: Its layout, a key of ``TEACHER_FORMATS``.
        queue: The :class:`EmbeddingQueue` config when the head does not hold
            the queue (built as the student part ``queue``), else None.
        channels_last: Run the student in the channels-last memory format.
        data_preprocessor: Data preprocessor config.
        init_cfg: Initialization config of the student.
    """

    def __init__(self, backbone: dict, neck: dict, head: dict, teacher: dict, teacher_ckpt: Optional[str] = None,
                 teacher_ckpt_format: str = 'mocov3', queue: Optional[dict] = None, channels_last: bool = False,
                 data_preprocessor: Optional[dict] = None, init_cfg: Optional[Union[List[dict], dict]] = None) -> None:
        self.check_teacher_cfg(teacher)
        neck, queue_owner = follow_teacher_embedding(teacher, neck, head if queue is None else queue)
        if queue is None:
            head, parts = queue_owner, None
        else:
            parts = dict(queue=queue_owner)
        super().__init__(backbone=backbone, neck=neck, head=head, teacher=teacher, teacher_ckpt=teacher_ckpt,
                         teacher_ckpt_format=teacher_ckpt_format, student_parts=parts, channels_last=channels_last,
                         data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if teacher['neck'] is None:
            check_teacher_width(self.teacher, neck['out_channels'])
        check_student_width(self.backbone, neck['in_channels'])

    def student_embedding(self, views: torch.Tensor) -> torch.Tensor:
        """The student's image embedding (N, C), not normalized."""
        return self.neck(self.backbone(views.contiguous(memory_format=self.memory_format)))[0]

    def predict(self, inputs: List[torch.Tensor], data_samples: Optional[List[SelfSupDataSample]] = None,
                **kwargs) -> List[SelfSupDataSample]:
        """Attach the ℓ2-normalized student and teacher embeddings of the first view
        (``student_embedding``, ``teacher_embedding``), for analysing what the student learned."""
        student = F.normalize(self.student_embedding(inputs[0]), dim=1)
        teacher = F.normalize(self.teacher.embedding(inputs[0]).float(), dim=1)
        data_samples = data_samples or [SelfSupDataSample() for _ in range(len(student))]
        for sample, s, t in zip(data_samples, student, teacher):
            sample.set_data(dict(student_embedding=s, teacher_embedding=t))
        return data_samples
