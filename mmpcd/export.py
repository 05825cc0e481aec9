"""Turn a PCD training checkpoint into a student backbone that other codebases load."""
import contextlib
import math
import os.path as osp
import re
import warnings
from typing import IO, Any, Dict, Iterator, List, Optional

import mmengine.registry.registry
import torch
from mmengine.config import Config, ConfigDict
from mmengine.registry import DefaultScope
from torch import nn

from mmselfsup.registry import MODELS
from .config_literals import UnsafeConfigValue, literal_value
from .models.utils.state_dict import check_finite, load_state_dict_strict

StateDict = Dict[str, torch.Tensor]


def extract_backbone(checkpoint: dict, prefix: str = 'backbone.', source: str = 'the checkpoint') -> StateDict:
    """The tensors under ``prefix`` in a training checkpoint of tools/train.py, prefix removed.

    Args:
        checkpoint: The loaded checkpoint.
        prefix: The module to take.
        source: The checkpoint's name, for the messages.

    Raises:
        KeyError: No key starts with ``prefix``; the message names the
            checkpoint, its first keys, and ``--prefix ''`` for a checkpoint
            that holds the backbone alone.
        NonFiniteWeightsError: A tensor of the module holds nan or inf (the
            run that wrote it diverged): such a student is never exported.
    """
    state_dict = checkpoint.get('state_dict', checkpoint)
    backbone = {k[len(prefix):]: v for k, v in state_dict.items() if k.startswith(prefix)}
    if not backbone:
        raise KeyError(f'{source}: no key starts with {prefix!r} (keys found: {", ".join(list(state_dict)[:5])}). A '
                       "training checkpoint of tools/train.py holds the student under 'backbone.'; for a checkpoint "
                       'that holds the backbone alone (an export of export_student.py, a torchvision state dict), '
                       "pass --prefix ''")
    check_finite(
        backbone, f'the {prefix!r} module of {source}',
        'The run that wrote it diverged: nothing was exported. Export an earlier checkpoint of the run, '
        'whose weights are finite, or train again with the cause fixed (docs/reliability.md)')
    return backbone


def _bn_after(conv: str) -> str:
    """The name of the BN that follows conv ``conv`` in the layouts of mmcv's ConvModule (``conv`` -> ``bn``),
    ResNet (``convK`` -> ``bnK``) and ``nn.Sequential`` (``downsample.0`` -> ``downsample.1``)."""
    parent, _, name = conv.rpartition('.')
    name = str(int(name) + 1) if name.isdigit() else re.sub(r'^conv', 'bn', name)
    return f'{parent}.{name}' if parent else name


def export_meta(checkpoint: dict, source: str, algorithm: Optional[str], norm_rescale: Optional[float]) -> dict:
    """The ``meta`` of an mmdet-format export of ``checkpoint``: its file name, the algorithm that trained it and the
    NormRescale scale of its tensors.

    For an export of an export (``--prefix ''``), what the first export
    records carries over: its algorithm, where none is known now, and its
    NormRescale, multiplied by ``norm_rescale``: the tensors hold both.

    Args:
        checkpoint: The loaded checkpoint.
        source: Its path.
        algorithm: The algorithm of its config (:func:`algorithm`), or None.
        norm_rescale: The NormRescale scale applied now, or None.
    """
    before = checkpoint.get('meta') if isinstance(checkpoint.get('meta'), dict) else {}
    scales = [s for s in (before.get('norm_rescale'), norm_rescale) if s is not None]
    return dict(source=osp.basename(source), algorithm=algorithm or before.get('algorithm'),
                norm_rescale=math.prod(scales) if scales else None)


def check_scale(scale: float) -> float:
    """``scale`` if it is a NormRescale scale, a finite number > 0.

    Raises:
        ValueError: It is not: 0 zeroes every conv, a negative scale flips the
            sign of the features.
    """
    if not 0 < scale < math.inf:
        raise ValueError(f'the NormRescale scale must be a finite number > 0, not {scale}: 0 zeroes every conv and a '
                         'negative scale flips the sign of the features; the paper uses 0.25')
    return scale


def norm_rescale(backbone: StateDict, scale: float = 0.25) -> StateDict:
    """NormRescale with a constant (PCD Sec. 4.1; Huang et al., ECCV 2022).

    Every conv followed by a BN has its weight (and bias, if any)
    multiplied by ``scale``, and that BN its running mean by ``scale`` and
    running variance by ``scale**2``; BN affine parameters and everything
    else are kept. The BN makes such a conv scale-invariant: the network
    computes the same function (exactly in train mode, up to BN's eps in
    eval mode, since the running statistics follow the conv), but the
    gradient of a conv weight grows by ``1 / scale`` and its relative step
    under SGD by ``1 / scale**2`` (16 at 0.25). That is the point: LARS
    leaves weight norms that SGD fine-tuning recipes tuned for SGD-trained
    weights move too slowly. Convs with no BN after them (MobileNet v3's
    squeeze-excitation convs) are not scale-invariant and are kept, as are
    BN's scale and shift (they feed residual sums directly): scaling them
    would change the network instead of its effective learning rate.

    Raises:
        ValueError: ``scale`` is not a finite number > 0.
        KeyError: No conv of ``backbone`` is followed by a BN (not a
            ResNet / MobileNet backbone).
    """
    check_scale(scale)
    pairs = [(key[:-len('.weight')], _bn_after(key[:-len('.weight')])) for key, value in backbone.items()
             if key.endswith('.weight') and value.dim() == 4]
    pairs = [(conv, bn) for conv, bn in pairs if f'{bn}.running_var' in backbone]
    if not pairs:
        raise KeyError('NormRescale found no conv followed by a BN (conv1/bn1, x.conv/x.bn, downsample.0/1 names); '
                       f'is this a ResNet or MobileNet backbone? keys such as {list(backbone)[:5]}')
    rescaled = dict(backbone)
    for conv, bn in pairs:
        for name in (f'{conv}.weight', f'{conv}.bias', f'{bn}.running_mean'):
            if name in backbone:
                rescaled[name] = backbone[name] * scale
        rescaled[f'{bn}.running_var'] = backbone[f'{bn}.running_var'] * scale**2
    return rescaled


def to_torchvision(backbone: StateDict) -> StateDict:
    """mmcls/mmdet ResNet keys are torchvision's (conv1, bn1, layerN.M.convK, downsample.0/1): no fc."""
    if 'conv1.weight' not in backbone or 'layer1.0.conv1.weight' not in backbone:
        raise KeyError('expected a ResNet backbone (conv1.weight, layer1.0.conv1.weight, ...); '
                       f'found keys such as {list(backbone)[:5]}')
    return dict(backbone)


def to_detectron2(backbone: StateDict) -> dict:
    """Detectron2's ResNet names (the renames of MoCo's converter), numpy arrays, matching_heuristics."""
    model = {}
    for key, value in to_torchvision(backbone).items():
        if key.endswith('num_batches_tracked'):
            continue
        if 'layer' not in key:
            key = 'stem.' + key
        for t in (1, 2, 3, 4):
            key = key.replace(f'layer{t}', f'res{t + 1}')
        for t in (1, 2, 3):
            key = key.replace(f'bn{t}', f'conv{t}.norm')
        key = key.replace('downsample.0', 'shortcut').replace('downsample.1', 'shortcut.norm')
        model[key] = value.numpy()
    return dict(model=model, __author__='mmpcd', matching_heuristics=True)


def checkpoint_config_value(checkpoint: dict, key: str, source: str = 'the checkpoint') -> Any:
    """The value of the dotted ``key`` in the config that a training checkpoint holds, read without running it.

    mmengine's Runner keeps the run's config as Python source in
    ``meta['cfg']``; a checkpoint from elsewhere can hold any code there, so
    the source is parsed (:func:`mmpcd.config_literals.literal_value`), never
    executed.

    Returns:
        The value; None if the checkpoint holds no config.

    Raises:
        KeyError: The config has no ``key``.
        ValueError: The config is not Python, or ``key`` is not a literal in it.
    """
    text = checkpoint.get('meta', {}).get('cfg')
    if not text:
        return None
    try:
        value = literal_value(text, key, f'{source}: meta["cfg"]')
    except (UnsafeConfigValue, SyntaxError) as err:
        raise ValueError(f'{source}: {key} in the config it holds (meta["cfg"]) is not a literal value ({err}); it is '
                         'read without running that config, which may hold any code: pass the training config with '
                         '--config') from None
    if value is None:
        raise KeyError(f'{source}: the config it holds (meta["cfg"]) has no {key}')
    return value


#: A ``type`` that mmengine's registries resolve without importing anything: a name, or ``scope.name``.
TYPE_NAME = re.compile(r'(?:(?P<scope>[A-Za-z_]\w*)\.)?[A-Za-z_]\w*')


def check_registered_types(cfg: Any, source: str, key: str = 'model.backbone') -> None:
    """Refuse in ``cfg`` (nested dicts and lists) every ``type`` and ``_scope_`` that would make mmengine's registry
    import a module: a ``type`` is a registered name, optionally after the scope of a registry that exists.

    mmengine's ``Registry.get`` imports ``{scope}.registry`` for an unknown
    scope (that is the package ``scope``, whose ``__init__`` runs) and falls
    back to ``get_object_from_string`` for a name it lacks, which imports any
    module and returns any object: ``type='os.system', command='...'`` runs a
    shell command. A config taken from a checkpoint can hold that.

    Args:
        cfg: The config (a ``model.backbone``).
        source: Where it comes from, for the message.
        key: Its key, for the message.

    Raises:
        ValueError: A ``type`` that is not a string ``Name`` or ``scope.Name``
            with a scope of mmengine's registry tree, or a ``_scope_`` that is
            not such a scope; the message names its key.
    """
    scopes = {mmengine.registry.MODELS.scope, *mmengine.registry.MODELS.children}
    if isinstance(cfg, dict):
        for name, value in cfg.items():
            if name == 'type':
                match = TYPE_NAME.fullmatch(value) if isinstance(value, str) else None
                allowed = match is not None and match['scope'] in {None, *scopes}
            else:
                allowed = name != '_scope_' or value in scopes
            if not allowed:
                known = ', '.join(sorted(scopes))
                wanted = (f'the name of a registered module (Name, or scope.Name with a scope of {known})'
                          if name == 'type' else f"a scope of mmengine's registries ({known})")
                raise ValueError(f'{source}: {key}.{name}={value!r} is not {wanted}: mmengine would import a module to '
                                 'find it, and a config from a checkpoint may name any code there. Pass the training '
                                 'config with --config')
            check_registered_types(value, source, f'{key}.{name}')
    elif isinstance(cfg, (list, tuple)):
        for index, value in enumerate(cfg):
            check_registered_types(value, source, f'{key}[{index}]')


def backbone_config(checkpoint: dict, config: Optional[str] = None, source: str = 'the checkpoint') -> ConfigDict:
    """The student backbone's config: ``model.backbone`` of ``config``, or of the config that the checkpoint holds
    (parsed, never executed: :func:`checkpoint_config_value`).

    Args:
        checkpoint: The loaded training checkpoint; mmengine's Runner keeps
            the run's config in ``meta['cfg']``.
        config: A config file that overrides the checkpoint's (for a
            checkpoint without one).
        source: The checkpoint's name, for the messages.

    Raises:
        KeyError: No config is given and the checkpoint holds none, or its
            config has no ``model.backbone``.
        ValueError: The checkpoint's ``model.backbone`` is not a literal, or
            names a module that is not registered
            (:func:`check_registered_types`).
    """
    if config is not None:
        return Config.fromfile(config).model.backbone
    backbone = checkpoint_config_value(checkpoint, 'model.backbone', source)
    if backbone is None:
        raise KeyError(f'{source} holds no config (meta["cfg"], which tools/train.py writes): pass the training '
                       'config with --config to say which backbone the tensors belong to')
    check_registered_types(backbone, f'{source}: the config it holds (meta["cfg"])')
    return ConfigDict(backbone)


def algorithm(checkpoint: dict, config: Optional[str] = None, source: str = 'the checkpoint') -> Optional[str]:
    """The algorithm that trained the checkpoint (``model.type``: ``'PCD'``, ``'SEED'``, ``'DINO'``, ...), from
    ``config`` or else from the config the checkpoint holds (parsed, never executed); None if there is neither."""
    if config is not None:
        return Config.fromfile(config).model.type
    return checkpoint_config_value(checkpoint, 'model.type', source)


@contextlib.contextmanager
def registered_names_only() -> Iterator[None]:
    """While inside, mmengine's registries find only the names they hold: their fallback to
    ``get_object_from_string`` (which imports any module named by a ``type``) finds nothing, and the build fails
    with mmengine's ``KeyError`` naming the type."""
    fallback = mmengine.registry.registry.get_object_from_string
    mmengine.registry.registry.get_object_from_string = lambda name: None
    try:
        yield
    finally:
        mmengine.registry.registry.get_object_from_string = fallback


def build_backbone(cfg: ConfigDict, backbone: StateDict, source: str = 'the checkpoint') -> nn.Module:
    """The backbone of ``cfg`` (mmselfsup's registry) holding the tensors ``backbone``, in eval mode.

    Only names that the registries hold are built
    (:func:`registered_names_only`): ``cfg`` may come from a checkpoint
    (:func:`backbone_config` checks it first).

    Raises:
        KeyError: A ``type`` is not in the registry that builds it
            (mmengine's message).
        CheckpointMismatchError: ``backbone`` does not fit the built module
            (the message names every missing, unexpected or misshaped key).
    """
    with DefaultScope.overwrite_default_scope('mmselfsup'), registered_names_only():
        module = MODELS.build(cfg)
    load_state_dict_strict(module, backbone, source, f'the student backbone {cfg.get("type")} of the config')
    module.eval()  # mmcls' ResNet.train returns None, not the module
    return module


def to_onnx(backbone: nn.Module, f: IO[bytes], opset_version: int = 17) -> List[str]:
    """Write ``backbone`` (in eval mode) to ``f`` as ONNX, with dynamic batch size, height and width.

    The TorchScript-based exporter of ``torch.onnx.export(..., dynamo=False)``
    is used: it needs only the ``onnx`` package, offline, while the dynamo
    exporter, torch's default since 2.9, needs ``onnxscript`` besides. Its
    deprecation warnings are silenced: the choice is deliberate.

    Args:
        backbone: A backbone in eval mode that maps images (N, 3, H, W) to a
            tuple of feature maps (N, C, h, w), as mmselfsup's do.
        f: The binary file to write.
        opset_version: The ONNX opset.

    Returns:
        The output names: ``feature_map`` for a single map, else
        ``feature_map_0``, ``feature_map_1``, ...
    """
    sample = torch.zeros(1, 3, 64, 64)
    with torch.no_grad():
        outputs = backbone(sample)
    names = ['feature_map'] if len(outputs) == 1 else [f'feature_map_{i}' for i in range(len(outputs))]
    axes = {0: 'batch', 2: 'height', 3: 'width'}
    dynamic_axes = dict.fromkeys(['image', *names], axes)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', DeprecationWarning)
        torch.onnx.export(backbone, (sample, ), f, dynamo=False, input_names=['image'], output_names=names,
                          dynamic_axes=dynamic_axes, opset_version=opset_version)
    return names


__all__ = [
    'algorithm', 'extract_backbone', 'export_meta', 'check_scale', 'norm_rescale', 'to_torchvision', 'to_detectron2',
    'backbone_config', 'checkpoint_config_value', 'check_registered_types', 'registered_names_only', 'build_backbone',
    'to_onnx'
]
