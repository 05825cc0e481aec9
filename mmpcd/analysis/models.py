"""The networks the analysis tools look at: an mmselfsup config (+ checkpoint), a torchvision or timm model.

A :class:`AnalysedModel` exposes the maps the tools read, by name:

* ``backbone``: the last map of the backbone (``layer4`` of a ResNet);
* ``student``: the map that enters the PCD loss, MHSA(φ(backbone(x)))
  (:meth:`mmpcd.models.PCD.student_forward`), for a PCD config;
* ``teacher``: the teacher's backbone map, for a config with one: the frozen teacher of PCD, SEED and DisCo, the
  EMA teacher of DINO and SSLight, the teacher OSS trains beside the student.

Every map is differentiable with respect to the input (the ERF needs it).
Nothing is downloaded: a torchvision / timm model is randomly initialised
unless a local weights file is given.
"""
import argparse
import os.path as osp
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.config import Config
from torch import nn

from mmselfsup.models.utils import CosineEMA
from ..fileio import load_checkpoint_file
from ..models.builder import build_model
from ..models.teachers import FrozenTeacher
from ..models.utils import load_state_dict_strict

#: ImageNet mean and std on the 0-255 scale, the input normalization of torchvision and timm models.
IMAGENET_MEAN, IMAGENET_STD = (123.675, 116.28, 103.53), (58.395, 57.12, 57.375)
TARGETS = ('backbone', 'student', 'teacher')

MapFn = Callable[[torch.Tensor], torch.Tensor]


@dataclass
class AnalysedModel:
    """A network in eval mode, its input normalization (0-255 scale, RGB) and its named maps."""

    label: str
    module: nn.Module
    mean: Sequence[float]
    std: Sequence[float]
    maps: Dict[str, MapFn] = field(default_factory=dict)

    def map(self, target: str) -> MapFn:
        """The map called ``target`` (images -> (N, C, h, w)).

        Raises:
            KeyError: this model has no such map; the message lists those it has.
        """
        if target not in self.maps:
            raise KeyError(f'{self.label}: no map {target!r}; this model has {sorted(self.maps)} '
                           f'(student needs a PCD config, teacher an algorithm with a teacher)')
        return self.maps[target]

    def title(self, target: str) -> str:
        """The name of this model's map ``target`` in figures: the label, with the map's name unless the backbone's."""
        return self.label if target == 'backbone' else f'{self.label} ({target})'

    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        """Images on the 0-255 scale (N, 3, H, W), RGB, normalized as this model's input."""
        return (images - torch.tensor(self.mean).view(1, 3, 1, 1)) / torch.tensor(self.std).view(1, 3, 1, 1)


def _load_state_dict(module: nn.Module, checkpoint: str, source: str, classifier: Optional[str] = None) -> None:
    """Load ``checkpoint`` (a state dict, or a dict with ``state_dict``) into ``module``, every key.

    A checkpoint without any key of the ``classifier`` submodule (the
    project's exports, ``export_student.py --to torchvision`` or ``--to
    mmdet``: the backbone alone) loads into the model without it: the
    classifier becomes an ``nn.Identity``, as the export's docs say, since no
    analysed map uses it.

    Raises:
        CheckpointMismatchError: another key is missing, unexpected or of a
            wrong shape; the message names the file and every such key.
    """
    state = load_checkpoint_file(checkpoint)
    state = state.get('state_dict', state) if isinstance(state, dict) else state
    if not isinstance(state, dict):
        raise ValueError(f'{checkpoint}: expected a state dict (or a dict with "state_dict"), got {type(state)}')
    if classifier and not any(k.startswith(f'{classifier}.') for k in state):
        parent, _, name = classifier.rpartition('.')
        setattr(module.get_submodule(parent), name, nn.Identity())
    load_state_dict_strict(module, state, f'checkpoint {checkpoint}', f'the state dict of {source}')


def _from_config(label: str, config: str, checkpoint: Optional[str], seed: int) -> AnalysedModel:
    cfg = Config.fromfile(config)
    model = build_model(cfg, seed)
    if checkpoint is not None:
        _load_state_dict(model, checkpoint, f'the model of {config}')
    preprocessor = cfg.model.data_preprocessor
    maps = {'backbone': lambda x: model.backbone(x)[-1]}
    if hasattr(model, 'student_forward'):
        maps['student'] = model.student_forward
    teacher = _teacher_map(model)
    if teacher is not None:
        maps['teacher'] = teacher
    return AnalysedModel(label, model.eval(), preprocessor.mean, preprocessor.std, maps)


def _teacher_map(model: nn.Module) -> Optional[MapFn]:
    """The backbone map of ``model``'s teacher, or None for an algorithm without one."""
    teacher = getattr(model, 'teacher', None)
    if isinstance(teacher, FrozenTeacher):  # its backbone_map runs without autograd: the same map, with it
        return lambda x: teacher.backbone(x * teacher.input_scale + teacher.input_shift)[-1]
    if isinstance(teacher, CosineEMA):  # DINO, SSLight: the EMA of (backbone, neck)
        return lambda x: teacher.module[0](x)[-1]
    if hasattr(model, 'teacher_backbone'):  # OSS
        return lambda x: model.teacher_backbone(x)[-1]
    return None


def _torchvision_backbone(name: str, model: nn.Module) -> MapFn:
    if hasattr(model, 'layer4'):  # ResNet, ResNeXt, Wide ResNet: everything before the pooling
        return nn.Sequential(
            *[getattr(model, n) for n in ('conv1', 'bn1', 'relu', 'maxpool', 'layer1', 'layer2', 'layer3', 'layer4')])
    if isinstance(getattr(model, 'features', None), nn.Module):  # VGG, MobileNet, EfficientNet, ConvNeXt, ...
        return model.features
    raise ValueError(f'torchvision:{name} has neither layer1-4 nor features: give a convolutional network '
                     '(resnet18, resnet50, mobilenet_v3_large, efficientnet_b0, ...)')


def _from_zoo(label: str, source: str, checkpoint: Optional[str], seed: int) -> AnalysedModel:
    zoo, name = source.split(':', 1)
    torch.manual_seed(seed)
    if zoo == 'torchvision':
        import torchvision
        model = torchvision.models.get_model(name, weights=None)
        backbone = _torchvision_backbone(name, model)
        classifier = next((n for n in ('fc', 'classifier') if hasattr(model, n)), None)
    else:
        import timm
        model = timm.create_model(name, pretrained=False)
        backbone = model.forward_features
        classifier = model.pretrained_cfg.get('classifier')
    if checkpoint is not None:
        _load_state_dict(model, checkpoint, source, classifier)

    def backbone_map(x: torch.Tensor) -> torch.Tensor:
        out = backbone(x)
        if out.dim() != 4:
            raise ValueError(f'{source}: forward_features gives shape {tuple(out.shape)}, not a map (N, C, h, w); '
                             'take a convolutional network')
        return out

    return AnalysedModel(label, model.eval(), IMAGENET_MEAN, IMAGENET_STD, {'backbone': backbone_map})


def load_model(label: str, source: str, checkpoint: Optional[str] = None, seed: int = 0) -> AnalysedModel:
    """Build a model to analyse.

    Args:
        label: Its name in figures and printed lines.
        source: An mmselfsup config file (``.py``; built and initialised as
            ``tools/train.py --seed seed`` does), ``torchvision:NAME`` or
            ``timm:NAME`` (randomly initialised, seeded).
        checkpoint: Local weights loaded with ``weights_only=True``, every
            key: an mmengine checkpoint of the config (``state_dict`` key) or
            the zoo model's state dict, with or without its classifier (the
            student's export, ``export_student.py --to torchvision`` or
            ``--to mmdet``, into ``torchvision:resnet18``). None keeps the
            random initialisation.
        seed: Seed of the random initialisation.

    Raises:
        ValueError: ``source`` is neither a ``.py`` file nor ``torchvision:`` / ``timm:``.
        FileNotFoundError: the config or the checkpoint does not exist.
        CheckpointMismatchError: the checkpoint does not fit the model.
    """
    if checkpoint is not None and not osp.isfile(checkpoint):
        raise FileNotFoundError(f'{label}: checkpoint {checkpoint} does not exist')
    if source.endswith('.py'):
        if not osp.isfile(source):
            raise FileNotFoundError(f'{label}: config {source} does not exist')
        return _from_config(label, source, checkpoint, seed)
    if source.startswith(('torchvision:', 'timm:')):
        return _from_zoo(label, source, checkpoint, seed)
    raise ValueError(f'{label}: model source {source!r} is not a config (.py), torchvision:NAME or timm:NAME')


def add_model_arguments(parser: argparse.ArgumentParser, targets: bool = True) -> None:
    """``--model LABEL SOURCE [CHECKPOINT]`` (repeated), ``--seed`` and, with ``targets``, ``--target``."""
    parser.add_argument(
        '--model', nargs='+', action='append', required=True, metavar='LABEL SOURCE [CHECKPOINT]',
        help='a model: its label, a config (.py) / torchvision:NAME / timm:NAME, and optionally a '
        'local checkpoint (none: random init); repeat for more panels')
    parser.add_argument('--seed', type=int, default=0, help='seed of random initialisations')
    if targets:
        parser.add_argument(
            '--target', nargs='+', choices=TARGETS, default=['backbone'],
            help='the map of each model (one for all, or one per --model): backbone (last map), '
            'student (MHSA(φ(backbone)), PCD configs), teacher (its backbone map: PCD, SEED, DisCo, DINO, '
            'SSLight, OSS configs)')


def models_from_arguments(args: argparse.Namespace) -> List[Tuple[AnalysedModel, str]]:
    """The models of ``--model`` with their ``--target`` (``backbone`` without one)."""
    for spec in args.model:
        if len(spec) not in (2, 3):
            raise SystemExit(f'--model takes LABEL SOURCE [CHECKPOINT], got {" ".join(spec)}')
    targets = getattr(args, 'target', ['backbone'])
    if len(targets) not in (1, len(args.model)):
        raise SystemExit(f'--target takes one map for all models or one per --model ({len(args.model)}), '
                         f'got {len(targets)}')
    targets = targets * len(args.model) if len(targets) == 1 else targets
    return [(load_model(*spec, seed=args.seed), target) for spec, target in zip(args.model, targets)]
