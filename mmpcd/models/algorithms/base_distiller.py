import copy
from typing import List, Optional, Tuple, Union

import torch
from mmengine.logging import print_log
from torch import nn

from mmselfsup.models.algorithms.base import BaseModel
from mmselfsup.registry import MODELS
from ..teachers import FrozenTeacher
from ..utils import CheckpointMismatchError, check_same_config, keys_under


class BaseDistiller(BaseModel):
    """An mmselfsup algorithm whose student learns from a frozen released teacher (PCD and its peers).

    Holds what every self-supervised distillation method of mmpcd shares, so
    that each algorithm only adds its loss:

    * the student (``backbone``, ``neck``, ``head`` as in mmselfsup's
      :class:`BaseModel`, plus the algorithm's ``student_parts``), built
      before the teacher so that a seed gives the same initial student;
    * the teacher, a :class:`FrozenTeacher` loaded from ``teacher_ckpt``
      (frozen the mmrazor way, its input normalization converted from the
      data preprocessor's), restored after ``init_weights``;
    * a load pre-hook that keeps the configured teacher for ``load_from``,
      ``--resume`` and ``load_state_dict``, and refuses a checkpoint of
      another config before anything is loaded;
    * the student's memory layout (``channels_last``).

    Args:
        backbone: Student backbone config.
        neck: Student neck config (the algorithm's projection), or None.
        head: The algorithm's head config (its loss and queue), or None.
        teacher: ``dict(backbone=..., neck=...)``: the teacher backbone and
            its head (or None for the backbone map itself), plus the other
            :class:`FrozenTeacher` arguments (``input_mean``, ``input_std``,
            ``channels_last``).
        teacher_ckpt: Local path of the released teacher checkpoint (None:
            the file a Python package ships, for formats that have one).
        teacher_ckpt_format: Its layout, a key of ``TEACHER_FORMATS``.
        student_parts: Further student modules, name -> config (None builds
            an ``nn.Identity``), built in this order after the neck and head.
        channels_last: Run the student (every part but the teacher) in the
            channels-last memory format, forward and backward.
        data_preprocessor: Data preprocessor config.
        init_cfg: Initialization config of the student.
    """

    def __init__(self, backbone: dict, neck: Optional[dict], head: Optional[dict], teacher: dict,
                 teacher_ckpt: Optional[str] = None, teacher_ckpt_format: str = 'mocov3',
                 student_parts: Optional[dict] = None, channels_last: bool = False,
                 data_preprocessor: Optional[dict] = None, init_cfg: Optional[Union[List[dict], dict]] = None) -> None:
        self.check_teacher_cfg(teacher)
        super().__init__(backbone=backbone, neck=neck, head=head, data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        for name, cfg in (student_parts or {}).items():
            self.add_module(name, MODELS.build(cfg) if cfg is not None else nn.Identity())
        self.teacher = FrozenTeacher(**teacher, checkpoint=teacher_ckpt, checkpoint_format=teacher_ckpt_format,
                                     data_mean=self.data_preprocessor.mean.flatten().tolist(),
                                     data_std=self.data_preprocessor.std.flatten().tolist())
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self._student_to(self.memory_format)
        self.register_load_state_dict_pre_hook(BaseDistiller._check_checkpoint)

    @staticmethod
    def check_teacher_cfg(teacher: dict) -> None:
        """``model.teacher`` names the teacher's backbone and head, or a ``KeyError`` says which is missing."""
        missing = {'backbone', 'neck'} - set(teacher)
        if missing:
            raise KeyError(f'model.teacher needs the keys backbone and neck (its head, or None for the backbone '
                           f'map itself); missing: {sorted(missing)}')

    def student_modules(self) -> List[nn.Module]:
        """Every trained part: the children but the teacher and the data preprocessor."""
        return [m for name, m in self.named_children() if name not in ('teacher', 'data_preprocessor')]

    def _student_to(self, memory_format: torch.memory_format) -> None:
        for part in self.student_modules():
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
        """Before a checkpoint is loaded (``load_from``, ``--resume``, ``load_state_dict``): the configured
        teacher always stays, and a checkpoint of another config is refused.

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
        their_teacher, their_student = split(keys_under(state_dict, prefix))
        differ = [
            k for k, v in our_teacher.items()
            if k in their_teacher and not (their_teacher[k].shape == v.shape and torch.equal(their_teacher[k].to(v), v))
        ]
        if differ:
            recorded = getattr(state_dict, '_metadata', {}).get(prefix + 'teacher', {}).get('source', 'not recorded')
            raise CheckpointMismatchError(
                f'the checkpoint was trained with another teacher ({recorded}) than the configured one '
                f'({self.teacher.source}): {differ[0]} and {len(differ) - 1} more tensors differ. mmpcd never '
                'replaces the configured teacher. To continue that run, set model.teacher_ckpt to its teacher; to '
                'distil its student from another teacher, export the student '
                '(tools/model_converters/export_student.py) and load it with '
                "model.backbone.init_cfg=dict(type='Pretrained', checkpoint=...)")
        check_same_config(our_student, their_student)
        state_dict.update({prefix + k: v for k, v in our_teacher.items()})  # also where the checkpoint has none
        print_log(
            f'The teacher stays the configured one ({self.teacher.source}); the checkpoint\'s teacher ' +
            ('matches it.' if their_teacher else 'is not in it.'), logger='current')

    def extract_feat(self, inputs: List[torch.Tensor], **kwargs) -> Tuple[torch.Tensor]:
        """The student backbone's features of the first view."""
        return self.backbone(inputs[0])
