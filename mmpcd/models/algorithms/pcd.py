from typing import Dict, List, Optional, Union

import torch
from torch import nn

from mmselfsup.registry import MODELS
from mmselfsup.structures import SelfSupDataSample
from .base_distiller import BaseDistiller
from .widths import check_student_width, check_teacher_width, follow_teacher


@MODELS.register_module()
class PCD(BaseDistiller):
    """Pixel-Wise Contrastive Distillation (Huang & Guo, ICCV 2023).

    A frozen teacher (backbone + :class:`SpatialAdaptor`) produces a map of
    projected pixels for each view; the student (backbone, projection φ,
    :class:`PixelMHSA`) learns to match it pixel by pixel with the InfoNCE
    loss of eq. 3-4 against a queue of pooled teacher maps (Fig. 1a).

    The teacher, its checkpoint check and the memory layout are
    :class:`BaseDistiller`'s: a :class:`FrozenTeacher` loaded from the
    released checkpoint when the model is built (never silently random),
    frozen the mmrazor way (eval mode keeps every BN on its running
    statistics, which the SpatialAdaptor invariance needs). The widths of
    φ's output, the MHSA and the queue follow the teacher head
    (:func:`follow_teacher`).

    Args:
        backbone: Student backbone config (ResNet-18 by default).
        neck: Student projection φ config (:class:`PixelProjection`).
        head: :class:`PixelContrastHead` config (queue, τ).
        teacher: ``dict(backbone=..., neck=...)``: the teacher backbone and
            its adapted head (:class:`SpatialAdaptor`, or None for the
            backbone map itself, Table 3 (a)-(c)); optionally
            ``input_mean`` / ``input_std`` (0-255 scale) when the teacher
            was trained with another input normalization than the data
            preprocessor's: its input is converted to it.
        teacher_ckpt: Local path of the released teacher checkpoint (None:
            the file a Python package ships, for formats that have one).
        teacher_ckpt_format: Its layout, a key of ``TEACHER_FORMATS``.
        attention: Student MHSA config, or None for the "w/o MHSA" ablation.
        symmetric: Loss on both views, averaged (default), or on the first
            view only (the asymmetric variant).
        cross_view: Pair the student's view 1 with the teacher's view 2 (and
            vice versa) as the official code does, instead of the paper's
            same-view pairs. Needs ``symmetric=True``.
        enqueue_first_view: Enqueue the teacher map of view 1 only, as
            the official code (allo-rene/pcd:pcd/pcd.py, ``forward``:
            ``key_for_update = F.adaptive_avg_pool2d(teacher_output1, 1)``),
            instead of those of every view in the loss (the default, which
            the paper leaves open: docs/method.md).
        channels_last: Run the student (backbone, φ, MHSA) in the
            channels-last memory format, forward and backward: the same
            values, faster convolutions where the machine's kernels prefer
            it. The teacher's layout is ``teacher.channels_last``
            (:class:`FrozenTeacher`); ``docs/benchmark.md`` measures both.
        data_preprocessor: Data preprocessor config.
        init_cfg: Initialization config of the student.
    """

    def __init__(self, backbone: dict, neck: dict, head: dict, teacher: dict, teacher_ckpt: Optional[str] = None,
                 teacher_ckpt_format: str = 'mocov3', attention: Optional[dict] = None, symmetric: bool = True,
                 cross_view: bool = False, enqueue_first_view: bool = False, channels_last: bool = False,
                 data_preprocessor: Optional[dict] = None, init_cfg: Optional[Union[List[dict], dict]] = None) -> None:
        if cross_view and not symmetric:
            raise ValueError('cross_view=True pairs the two views and needs symmetric=True')
        self.check_teacher_cfg(teacher)
        neck, head, attention = follow_teacher(teacher, neck, head, attention)
        super().__init__(backbone=backbone, neck=neck, head=head, teacher=teacher, teacher_ckpt=teacher_ckpt,
                         teacher_ckpt_format=teacher_ckpt_format, student_parts=dict(attention=attention),
                         channels_last=channels_last, data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if teacher['neck'] is None:
            check_teacher_width(self.teacher, head['feat_dim'])
        if hasattr(self.neck, 'in_channels'):
            check_student_width(self.backbone, self.neck.in_channels)
        self.symmetric = symmetric
        self.cross_view = cross_view
        self.enqueue_first_view = enqueue_first_view

    def student_forward(self, views: torch.Tensor) -> torch.Tensor:
        """The student's map that enters the loss: MHSA(φ(backbone(x)))."""
        views = views.contiguous(memory_format=self.memory_format)
        return self.attention(self.neck(self.backbone(views)[-1]))

    def loss(self, inputs: List[torch.Tensor], data_samples: List[SelfSupDataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        """The PCD loss of a batch of views (eq. 3-4), then the queue update (the teacher maps of every view in the
        loss, or of view 1 only with ``enqueue_first_view``).

        Args:
            inputs: The views, each (N, 3, H, W); the first two are used
                (the first only when ``symmetric=False``).
            data_samples: Unused.

        Returns:
            ``dict(loss=...)``: the mean of the per-view losses.
        """
        views = inputs[:2] if self.symmetric else inputs[:1]
        # The teacher is in eval mode, so one forward over all views is exact.
        teacher_maps = self.teacher(torch.cat(views)).chunk(len(views))
        keys = teacher_maps[0] if self.enqueue_first_view else torch.cat(teacher_maps)
        if self.cross_view:
            teacher_maps = teacher_maps[::-1]
        losses = [self.head.loss(self.student_forward(view), target) for view, target in zip(views, teacher_maps)]
        self.head.enqueue(keys)
        return dict(loss=sum(losses) / len(losses))

    def predict(self, inputs: List[torch.Tensor], data_samples: Optional[List[SelfSupDataSample]] = None,
                **kwargs) -> List[SelfSupDataSample]:
        """Attach the student's and the teacher's pixel embeddings of the first view.

        Each sample gets ``student_map`` (MHSA output) and ``teacher_map``
        (adapted teacher output, resized to the student's size), both
        ℓ2-normalized per pixel, for analysing what the student learned.
        """
        student = nn.functional.normalize(self.student_forward(inputs[0]), dim=1)
        teacher = nn.functional.interpolate(self.teacher(inputs[0]), size=student.shape[2:], mode='bilinear',
                                            align_corners=False)
        teacher = nn.functional.normalize(teacher, dim=1)
        data_samples = data_samples or [SelfSupDataSample() for _ in range(len(student))]
        for sample, s, t in zip(data_samples, student, teacher):
            sample.set_data(dict(student_map=s, teacher_map=t))
        return data_samples
