"""Readers for teacher checkpoints in the layouts their authors released."""
import logging
import os.path as osp
from typing import Callable, Dict, Mapping, Tuple

import torch
from mmengine.logging import print_log

from ..utils import CheckpointMismatchError

StateDict = Dict[str, torch.Tensor]
# A format splits a released checkpoint into (backbone state dict, MLP head state dict).
TeacherFormat = Callable[[Mapping], Tuple[StateDict, StateDict]]

#: Written by ``tools/misc/make_random_teacher.py`` into demo checkpoints.
RANDOM_TEACHER_KEY = 'mmpcd_random_teacher'


def _mocov3_resnet(checkpoint: Mapping) -> Tuple[StateDict, StateDict]:
    """MoCo v3 ResNet (``r-50-1000ep.pth.tar``): the momentum encoder, head under ``fc.*``."""
    state_dict = checkpoint.get('state_dict')
    prefix = 'module.momentum_encoder.'
    if not isinstance(state_dict, Mapping) or not any(k.startswith(prefix) for k in state_dict):
        found = list(state_dict)[:5] if isinstance(state_dict, Mapping) else list(checkpoint)[:5]
        raise CheckpointMismatchError(
            "expected MoCo v3's released layout: a dict with 'state_dict' holding "
            f"'{prefix}*' keys (as in r-50-1000ep.pth.tar); found keys such as {found}")
    encoder = {k[len(prefix):]: v for k, v in state_dict.items() if k.startswith(prefix)}
    head = {k[len('fc.'):]: v for k, v in encoder.items() if k.startswith('fc.')}
    backbone = {k: v for k, v in encoder.items() if not k.startswith('fc.')}
    return backbone, head


TEACHER_FORMATS: Dict[str, TeacherFormat] = {
    'mocov3': _mocov3_resnet,
}


def load_teacher_checkpoint(path: str, fmt: str) -> Tuple[StateDict, StateDict]:
    """Read a released teacher checkpoint safely and split it.

    The file is read with ``torch.load(..., weights_only=True)``: no code in
    it can run.

    Args:
        path: A local checkpoint file (no download happens).
        fmt: One of :data:`TEACHER_FORMATS`.

    Returns:
        The backbone's and the projection head's state dicts.
    """
    if fmt not in TEACHER_FORMATS:
        raise ValueError(f'unknown teacher checkpoint format {fmt!r}; known: {sorted(TEACHER_FORMATS)}')
    if not path:
        raise ValueError('no teacher checkpoint given: set model.teacher_ckpt to the released file '
                         '(e.g. r-50-1000ep.pth.tar for MoCo v3); PCD never trains from a random teacher')
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'teacher checkpoint {path!r} does not exist. Download the released file (see docs/teachers.md) '
            'and set model.teacher_ckpt to its local path; for a demo, '
            'tools/misc/make_random_teacher.py writes a random one in the same layout')
    checkpoint = torch.load(path, map_location='cpu', weights_only=True)
    if not isinstance(checkpoint, Mapping):
        raise CheckpointMismatchError(f'{path} holds a {type(checkpoint).__name__}, not a checkpoint dict')
    if checkpoint.get(RANDOM_TEACHER_KEY):
        print_log(
            f'THE TEACHER IS RANDOM: {path} was written by tools/misc/make_random_teacher.py with random '
            'weights. The student learns nothing useful from it; use it to test the pipeline only.',
            logger='current', level=logging.WARNING)
    try:
        return TEACHER_FORMATS[fmt](checkpoint)
    except CheckpointMismatchError as err:
        raise CheckpointMismatchError(f'{path}: {err}') from None
