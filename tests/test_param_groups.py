"""Weight decay and LARS adaptation per parameter under the recipes that exclude "biases and BN": decided by shape
(every 1-D parameter, whatever its module is named), for the models of every algorithm, and SSLight's depth-wise
convolutions without weight decay (saic-fi/SSLight src/sslight/utils/param_utils.py, get_params)."""
import glob
import os.path as osp
from typing import Dict, Tuple

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from torch import nn

from mmselfsup.registry import MODELS

from conftest import REPO

SCHEDULES = osp.join(REPO, 'configs', '_base_', 'schedules')
PCD_RECIPE = 'lars_coslr-100e_in1k.py'  # PCD, SEED on PCD's recipe: "biases and BN excluded"
SSLIGHT_RECIPE = 'lars-warmup_coslr-200e_in1k.py'  # DINO, SSLight: the same, and depth-wise convolutions
# One model of each algorithm (and the students with other layers: MobileNet v2's depth-wise convolutions, MobileNet
# v3's SE blocks), from the configs that train them.
MODEL_CONFIGS = {
    'PCD': 'pcd/cpu/pcd_resnet18-effnetlite0_1xb32-lars-15e_cifar10-mini.py',
    'PCD image-level': 'pcd/cpu/pcd_resnet18-effnetlite0-image-level_1xb32-lars-15e_cifar10-mini.py',
    'PCD MobileNet v3': 'pcd/pcd_mobilenetv3-large_8xb128-coslr-100e_in1k.py',
    'SEED': 'seed/cpu/seed_resnet18-effnetlite0_1xb32-lars-15e_cifar10-mini.py',
    'DisCo': 'disco/cpu/disco_resnet18-effnetlite0_1xb32-lars-15e_cifar10-mini.py',
    'DINO': 'dino/cpu/dino_resnet18_1xb32-lars-15e_cifar10-mini.py',
    'SSLight MobileNet v2': 'sslight/sslight_mobilenetv2_8xb128-coslr-200e_in1k.py',
    'OSS': 'oss/cpu/oss_resnet18-r50_1xb32-lars-15e_cifar10-mini.py',
}


def build_model(name: str, mocov3_ckpt: str) -> nn.Module:
    model = Config.fromfile(osp.join(REPO, 'configs', MODEL_CONFIGS[name])).model
    if model.get('teacher_ckpt_format') == 'mocov3':
        model.teacher_ckpt = mocov3_ckpt
    if model.type == 'DINO':
        model.neck.out_channels = model.head.out_channels = 256  # a small last layer: the same kinds of parameters
    return MODELS.build(model)


def is_depthwise(p: torch.Tensor) -> bool:
    """SSLight's test: ``len(param.shape) == 4 and param.shape[1] == 1``."""
    return p.ndim == 4 and p.shape[1] == 1


def groups_of(model: nn.Module, recipe: str) -> Tuple[Dict[str, Tuple[float, bool]], float]:
    """``{name: (weight decay, lars_exclude)}`` of the optimizer the recipe builds, and the recipe's weight decay."""
    cfg = Config.fromfile(osp.join(SCHEDULES, recipe))
    optimizer = build_optim_wrapper(model, cfg.optim_wrapper).optimizer
    names = {id(p): n for n, p in model.named_parameters()}
    settings = {
        names[id(p)]: (g['weight_decay'], g.get('lars_exclude', False))
        for g in optimizer.param_groups
        for p in g['params']
    }
    return settings, cfg.optimizer.weight_decay


@pytest.mark.parametrize('recipe', [PCD_RECIPE, SSLIGHT_RECIPE])
@pytest.mark.parametrize('name', sorted(MODEL_CONFIGS))
def test_no_1d_parameter_gets_weight_decay_or_lars_adaptation(name, recipe, mocov3_ckpt):
    model = build_model(name, mocov3_ckpt)
    settings, weight_decay = groups_of(model, recipe)
    trainable = {n: p for n, p in model.named_parameters() if p.requires_grad}
    assert set(settings) == set(trainable)  # a frozen teacher is left out
    for n, p in trainable.items():
        if p.ndim == 1:
            expected = (0., True)
        elif recipe == SSLIGHT_RECIPE and is_depthwise(p):
            expected = (0., False)  # WD_FACTOR_FOR_DW = 0.0, LARS_EXCLUDE_DW = False
        else:
            expected = (weight_decay, False)
        assert settings[n] == expected, n
    flat = [n for n, p in trainable.items() if p.ndim == 1]
    assert flat and any(n.endswith('bias') for n in flat) and any(n.endswith('weight') for n in flat)


def test_the_names_the_old_custom_keys_missed_are_excluded(mocov3_ckpt):
    """The DINO head's BN weight is named ``neck.mlp.1.weight``: no 'bn' or 'bias' in it (issue 24, item 5)."""
    model = build_model('DINO', mocov3_ckpt)
    assert isinstance(model.neck.mlp[1], nn.BatchNorm1d)
    settings, _ = groups_of(model, SSLIGHT_RECIPE)
    assert settings['neck.mlp.1.weight'] == settings['neck.mlp.1.bias'] == (0., True)
    missed = [
        n for n, p in model.named_parameters()
        if p.requires_grad and p.ndim == 1 and 'bn' not in n and 'bias' not in n and 'downsample.1' not in n
    ]
    assert 'neck.mlp.1.weight' in missed


def test_depthwise_convolutions_of_mobilenet_v2(mocov3_ckpt):
    """SSLight's recipe: weight decay 0, LARS adaptation kept; PCD's recipe decays them as any other weight."""
    model = build_model('SSLight MobileNet v2', mocov3_ckpt)
    depthwise = [n for n, p in model.named_parameters() if p.requires_grad and is_depthwise(p)]  # not the EMA teacher
    assert len(depthwise) == 17  # one per inverted residual block
    sslight, _ = groups_of(model, SSLIGHT_RECIPE)
    pcd, weight_decay = groups_of(model, PCD_RECIPE)
    assert all(sslight[n] == (0., False) for n in depthwise)
    assert all(pcd[n] == (weight_decay, False) for n in depthwise)


def test_every_lars_config_excludes_by_shape():
    """Every LARS config but OSS's takes the shape rule; OSS's adapts and decays every parameter, as SwAV's LARC."""
    paths = sorted(p for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'), recursive=True)
                   if '_base_' not in p and osp.join('configs', 'benchmarks') not in p)
    lars = 0
    for path in paths:
        cfg = Config.fromfile(path)
        if 'optim_wrapper' not in cfg or cfg.optim_wrapper.optimizer.type != 'LARS':
            continue
        lars += 1
        paramwise = cfg.optim_wrapper.get('paramwise_cfg', {})
        if cfg.model.type in ('OSS', 'OSSOffline'):
            assert not paramwise, path
            continue
        assert paramwise.get('flat_decay_mult') == 0 and paramwise.get('flat_lars_exclude') is True, path
        assert 'custom_keys' not in paramwise, path
        assert (paramwise.get('dwconv_decay_mult') == 0) == (cfg.model.type == 'DINO'), path
    assert lars >= 10
