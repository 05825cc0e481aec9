import copy
from typing import Dict, List, Optional, Tuple, Union

import torch
from torch import nn

from mmengine.logging import print_log

from mmselfsup.models.algorithms.base import BaseModel
from mmselfsup.registry import MODELS
from mmselfsup.structures import SelfSupDataSample
from ..teachers import FrozenTeacher
from ..utils import CheckpointMismatchError, mismatch_report
from .widths import check_student_width, check_teacher_width, follow_teacher


@MODELS.register_module()
class PCD(BaseModel):
    """Pixel-Wise Contrastive Distillation (Huang & Guo, ICCV 2023).

    A frozen teacher (backbone + :class:`SpatialAdaptor`) produces a map of
    projected pixels for each view; the student (backbone, projection φ,
    :class:`PixelMHSA`) learns to match it pixel by pixel with the InfoNCE
    loss of eq. 3-4 against a queue of pooled teacher maps (Fig. 1a).

    The teacher is a :class:`FrozenTeacher`, frozen the mmrazor way: loaded
    from the released checkpoint when the model is built (never silently
    random), ``requires_grad=False``, eval mode (every BN on its running
    statistics, which the SpatialAdaptor invariance needs) even when the
    model is in train mode, and untouched by ``init_weights``. The widths of
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
        channels_last: Run the student (backbone, φ, MHSA) in the
            channels-last memory format, forward and backward: the same
            values, faster convolutions where the machine's kernels prefer
            it. The teacher's layout is ``teacher.channels_last``
            (:class:`FrozenTeacher`); ``docs/benchmark.md`` measures both.
        data_preprocessor: Data preprocessor config.
        init_cfg: Initialization config of the student.
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 head: dict,
                 teacher: dict,
                 teacher_ckpt: Optional[str] = None,
                 teacher_ckpt_format: str = 'mocov3',
                 attention: Optional[dict] = None,
                 symmetric: bool = True,
                 cross_view: bool = False,
                 channels_last: bool = False,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[Union[List[dict], dict]] = None) -> None:
        if cross_view and not symmetric:
            raise ValueError('cross_view=True pairs the two views and needs symmetric=True')
        missing = {'backbone', 'neck'} - set(teacher)
        if missing:
            raise KeyError(f'model.teacher needs the keys backbone and neck (the SpatialAdaptor, or None for the '
                           f'backbone map itself); missing: {sorted(missing)}')
        neck, head, attention = follow_teacher(teacher, neck, head, attention)
        # Built in this order (student parts, then the teacher) so that a seed gives the same initial student.
        super().__init__(backbone=backbone, neck=neck, head=head, data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        self.attention = MODELS.build(attention) if attention is not None else nn.Identity()
        self.teacher = FrozenTeacher(
            **teacher, checkpoint=teacher_ckpt, checkpoint_format=teacher_ckpt_format,
            data_mean=self.data_preprocessor.mean.flatten().tolist(),
            data_std=self.data_preprocessor.std.flatten().tolist())
        if teacher['neck'] is None:
            check_teacher_width(self.teacher, head['feat_dim'])
        if hasattr(self.neck, 'in_channels'):
            check_student_width(self.backbone, self.neck.in_channels)
        self.symmetric = symmetric
        self.cross_view = cross_view
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self._student_to(self.memory_format)
        self.register_load_state_dict_pre_hook(PCD._check_checkpoint)

    def _student_to(self, memory_format: torch.memory_format) -> None:
        for part in (self.backbone, self.neck, self.attention):
            part.to(memory_format=memory_format)

    def init_weights(self) -> None:
        """Initialize the student; the teacher keeps its checkpoint's weights, even under a model-wide
        ``init_cfg`` (which mmengine applies to every submodule). A seed gives the same student in both
        memory layouts: random initializers fill tensors in memory order, so they run on the default one."""
        frozen = copy.deepcopy(self.teacher.state_dict())
        self._student_to(torch.contiguous_format)
        super().init_weights()
        self._student_to(self.memory_format)
        self.teacher.load_state_dict(frozen)

    def _check_checkpoint(self, state_dict: dict, prefix: str, *args) -> None:
        """Before a PCD checkpoint is loaded (``load_from``, ``--resume``, ``load_state_dict``): the
        configured teacher always stays, and a checkpoint of another config is refused.

        * The checkpoint's ``teacher.*`` tensors must equal the configured
          teacher's (``model.teacher_ckpt``), or nothing is loaded and the
          error names both teachers' sources: a resumed run keeps the teacher
          it started with, and ``load_from`` never swaps it. A checkpoint
          without them (the student alone) leaves the configured teacher.
        * Every other key must be there with the model's shape (missing,
          unexpected and wrongly shaped keys are named), so that a checkpoint
          of another config fails here, before any step, not in the optimizer.
        """
        def split(entries: dict) -> Tuple[dict, dict]:  # (teacher.*, the rest)
            teacher = {k: v for k, v in entries.items() if k.startswith('teacher.')}
            return teacher, {k: v for k, v in entries.items() if k not in teacher}

        our_teacher, our_student = split(self.state_dict())
        their_teacher, their_student = split({k[len(prefix):]: v for k, v in state_dict.items()
                                              if k.startswith(prefix)})
        differ = [k for k, v in our_teacher.items() if k in their_teacher
                  and not (their_teacher[k].shape == v.shape and torch.equal(their_teacher[k].to(v), v))]
        if differ:
            recorded = getattr(state_dict, '_metadata', {}).get(prefix + 'teacher', {}).get('source', 'not recorded')
            raise CheckpointMismatchError(
                f'the checkpoint was trained with another teacher ({recorded}) than the configured one '
                f'({self.teacher.source}): {differ[0]} and {len(differ) - 1} more tensors differ. mmpcd never '
                'replaces the configured teacher. To continue that run, set model.teacher_ckpt to its teacher; to '
                'distil its student from another teacher, export the student '
                '(tools/model_converters/export_student.py) and load it with '
                "model.backbone.init_cfg=dict(type='Pretrained', checkpoint=...)")
        report = mismatch_report(our_student, their_student)
        if report:
            raise CheckpointMismatchError(f'the checkpoint does not match this model (was it written for another '
                                          f'config?); nothing was loaded.{report}')
        state_dict.update({prefix + k: v for k, v in our_teacher.items()})  # also where the checkpoint has none
        print_log(f'The teacher stays the configured one ({self.teacher.source}); the checkpoint\'s teacher '
                  + ('matches it.' if their_teacher else 'is not in it.'), logger='current')

    def student_forward(self, views: torch.Tensor) -> torch.Tensor:
        """The student's map that enters the loss: MHSA(φ(backbone(x)))."""
        views = views.contiguous(memory_format=self.memory_format)
        return self.attention(self.neck(self.backbone(views)[-1]))

    def extract_feat(self, inputs: List[torch.Tensor], **kwargs) -> Tuple[torch.Tensor]:
        """The student backbone's features of the first view."""
        return self.backbone(inputs[0])

    def loss(self, inputs: List[torch.Tensor], data_samples: List[SelfSupDataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        """The PCD loss of a batch of views (eq. 3-4), then the queue update.

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
        if self.cross_view:
            teacher_maps = teacher_maps[::-1]
        losses = [self.head.loss(self.student_forward(view), target)
                  for view, target in zip(views, teacher_maps)]
        self.head.enqueue(torch.cat(teacher_maps))
        return dict(loss=sum(losses) / len(losses))

    def predict(self, inputs: List[torch.Tensor], data_samples: Optional[List[SelfSupDataSample]] = None,
                **kwargs) -> List[SelfSupDataSample]:
        """Attach the student's and the teacher's pixel embeddings of the first view.

        Each sample gets ``student_map`` (MHSA output) and ``teacher_map``
        (adapted teacher output, resized to the student's size), both
        ℓ2-normalized per pixel, for analysing what the student learned.
        """
        student = nn.functional.normalize(self.student_forward(inputs[0]), dim=1)
        teacher = nn.functional.interpolate(
            self.teacher(inputs[0]), size=student.shape[2:], mode='bilinear', align_corners=False)
        teacher = nn.functional.normalize(teacher, dim=1)
        data_samples = data_samples or [SelfSupDataSample() for _ in range(len(student))]
        for sample, s, t in zip(data_samples, student, teacher):
            sample.set_data(dict(student_map=s, teacher_map=t))
        return data_samples
