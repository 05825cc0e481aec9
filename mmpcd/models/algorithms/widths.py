"""The student's widths follow the teacher's: one place for the width of the contrasted pixels."""
import copy
from typing import Optional, Tuple

import torch

#: φ's shape when the teacher head has no hidden layer to copy: MoCo v3's hidden width, no biases.
DEFAULT_HIDDEN, DEFAULT_BIAS = 4096, False


def _setdefault_checked(cfg: dict, key: str, value, where: str, reason: str) -> None:
    """``cfg[key] = value`` unless set; set to something else, an error naming both values."""
    if cfg.get(key) is None:
        cfg[key] = value
    elif value is not None and cfg[key] != value:
        raise ValueError(f'{where}.{key}={cfg[key]!r} contradicts {reason} ({value!r}); '
                         f'remove {where}.{key} from the config to take it from the teacher')


def follow_teacher_embedding(teacher: dict, neck: dict, head: dict) -> Tuple[dict, dict]:
    """The image-level peers' student projection and head configs, their widths following the teacher's embedding.

    The embedding width is the teacher head's output width
    (``teacher.neck.channels[-1]``), or, without a head, the backbone's: then
    set ``neck.out_channels`` (checked against the built teacher by
    :func:`check_teacher_width`). ``neck.out_channels`` and ``head.feat_dim``
    take it unless set; a different value is an error naming both.

    Returns:
        Copies of ``neck`` and ``head``.
    """
    neck, head = copy.deepcopy(neck), copy.deepcopy(head)
    adaptor = teacher.get('neck')
    if adaptor is not None:
        width = tuple(adaptor['channels'])[-1]
        reason = f'the teacher head\'s output width (teacher.neck.channels={tuple(adaptor["channels"])})'
        _setdefault_checked(neck, 'out_channels', width, 'model.neck', reason)
    elif neck.get('out_channels') is None:
        raise ValueError('model.teacher.neck=None takes the pooled teacher backbone map as the embedding: set '
                         'model.neck.out_channels to its width (2048 for ResNet-50)')
    _setdefault_checked(head, 'feat_dim', neck['out_channels'], 'model.head', 'model.neck.out_channels')
    return neck, head


def follow_teacher(teacher: dict, neck: dict, head: dict,
                   attention: Optional[dict]) -> Tuple[dict, dict, Optional[dict]]:
    """The student's φ, head and MHSA configs with the widths that follow the teacher filled in.

    The width C of the contrasted pixels is the teacher adaptor's output
    width (``teacher.neck.channels[-1]``): φ's ``out_channels``, the MHSA's
    ``in_channels`` and the queue's ``feat_dim`` take it unless set, and a
    different value is an error that names both. φ is shaped like the teacher
    head (Sec. 3.2, "structurally similar"): its hidden widths and biases
    are the head's unless set. Without an adaptor (``teacher.neck=None``,
    Table 3 (a)-(c)) C is the backbone's width: set ``neck.out_channels``
    (checked against the built teacher by :func:`check_teacher_width`); φ's
    hidden width is then MoCo v3's 4096 without biases unless set, as for
    a teacher head of one Linear layer (EfficientNet-Lite0's classifier).

    Returns:
        Copies of ``neck``, ``head`` and ``attention`` (None stays None).
    """
    neck, head, attention = copy.deepcopy(neck), copy.deepcopy(head), copy.deepcopy(attention)
    adaptor = teacher.get('neck')
    if adaptor is not None:
        channels = tuple(adaptor['channels'])
        width, reason = channels[-1], f'the teacher head\'s output width (teacher.neck.channels={channels})'
        if len(channels) > 2:
            _setdefault_checked(neck, 'hid_channels',
                                list(channels[1:-1]) if len(channels) > 3 else channels[1], 'model.neck',
                                f'the teacher head\'s hidden widths (teacher.neck.channels={channels})')
            _setdefault_checked(neck, 'bias', adaptor.get('bias', False), 'model.neck',
                                'the teacher head\'s biases (teacher.neck.bias)')
    if adaptor is None or len(channels) == 2:  # no hidden layer to copy: MoCo v3's shape
        neck.setdefault('hid_channels', DEFAULT_HIDDEN)
        neck.setdefault('bias', DEFAULT_BIAS)
    if adaptor is None:
        width = neck.get('out_channels')
        if width is None:
            raise ValueError('model.teacher.neck=None contrasts the teacher backbone map directly: set '
                             'model.neck.out_channels to its width (2048 for ResNet-50)')
        reason = 'model.neck.out_channels, the teacher backbone map\'s width'
    _setdefault_checked(neck, 'out_channels', width, 'model.neck', reason)
    _setdefault_checked(head, 'feat_dim', width, 'model.head', reason)
    if attention is not None:
        _setdefault_checked(attention, 'in_channels', width, 'model.attention', reason)
    return neck, head, attention


@torch.no_grad()
def check_teacher_width(teacher: torch.nn.Module, width: int, size: int = 224) -> None:
    """The built teacher's output has ``width`` channels, or an error naming both (one forward at ``size`` px)."""
    device = next(teacher.parameters()).device
    found = teacher(torch.zeros(1, 3, size, size, device=device)).shape[1]
    if found != width:
        raise ValueError(f'the teacher gives {found}-channel pixels but the student is built for {width} '
                         f'(model.neck.out_channels / model.head.feat_dim); set them to {found}')


@torch.no_grad()
def check_student_width(backbone: torch.nn.Module, in_channels: int, size: int = 64) -> None:
    """The student backbone's last map has the ``in_channels`` φ takes, or an error naming both.

    One forward of a blank image at ``size`` px in eval mode (the BN
    statistics and the random streams are left untouched).
    """
    training = backbone.training
    backbone.eval()
    found = backbone(torch.zeros(1, 3, size, size))[-1].shape[1]
    backbone.train(training)
    if found != in_channels:
        raise ValueError(f'the student backbone gives {found}-channel maps but φ takes {in_channels} '
                         f'(model.neck.in_channels); set model.neck.in_channels={found}')
