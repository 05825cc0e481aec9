from typing import Dict, List, Optional, Union

import torch
from torch import nn

from mmselfsup.registry import MODELS
from mmselfsup.structures import SelfSupDataSample
from ..utils import multi_crop_embed
from .base_distiller import BaseDistiller


@MODELS.register_module()
class OSSOffline(BaseDistiller):
    """Offline OSS: a student learns SwAV codes from a frozen SwAV teacher (OSS appendix A.8).

    The teacher (:class:`FrozenTeacher`: a released SwAV ResNet-50, its projection head and prototypes in an
    :class:`OSSProjection`, read with the ``swav_prototypes`` layout) gives the codes: Sinkhorn over its scores
    of the full-resolution views and its queued embeddings (:class:`OSSHead`, "with stored embeddings as described
    in A.1. Here, the embedding vectors are from teacher network"). The student (``backbone``, :class:`OSSProjection`
    ``neck`` with dropout (0.1, 0.05)) predicts them from all its clean and dropout views through the teacher's
    frozen prototypes: the student loss L_S, loss2 of the A.1 pseudo-code. Only the student's backbone and head learn.

    Args:
        backbone: Student backbone (ResNet-18).
        neck: Student head (:class:`OSSProjection` with dropout).
        head: :class:`OSSHead` without prototypes of its own (``num_prototypes=None``).
        teacher: ``dict(backbone=..., neck=...)``: the SwAV ResNet-50 and its :class:`OSSProjection` with
            ``num_prototypes``.
        teacher_ckpt: Local path of ``swav_800ep_pretrain.pth.tar``.
        teacher_ckpt_format: ``'swav_prototypes'``.
        data_preprocessor: Data preprocessor config.
        init_cfg: Initialization config of the student.
    """

    def __init__(self, backbone: dict, neck: dict, head: dict, teacher: dict, teacher_ckpt: Optional[str] = None,
                 teacher_ckpt_format: str = 'swav_prototypes', data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[Union[List[dict], dict]] = None) -> None:
        super().__init__(backbone=backbone, neck=neck, head=head, teacher=teacher, teacher_ckpt=teacher_ckpt,
                         teacher_ckpt_format=teacher_ckpt_format, data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        if getattr(self.teacher.neck, 'prototypes', None) is None:
            raise ValueError('OSSOffline needs the teacher\'s prototypes: model.teacher.neck must be an OSSProjection '
                             'with num_prototypes (3000 for SwAV) and teacher_ckpt_format="swav_prototypes"')

    def loss(self, inputs: List[torch.Tensor], data_samples: List[SelfSupDataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        """The student loss L_S of a batch.

        Args:
            inputs: The views, each (B, 3, H, W): the full-resolution ones first.
            data_samples: Unused.

        Returns:
            ``dict(loss=...)``.
        """
        prototypes = nn.functional.normalize(self.teacher.neck.prototypes.weight, dim=1)
        with torch.no_grad():  # the full-resolution views only: the others give no codes
            z, _ = self.teacher.neck(self.teacher.backbone_map(torch.cat(inputs[:self.head.num_assign_views])))
        codes = self.head.codes(z, prototypes, batch=len(inputs[0]))
        w, w_drop = multi_crop_embed(self.backbone, self.neck, inputs)
        return dict(loss=self.head.loss(torch.cat([w, w_drop]) @ prototypes.t(), codes))
