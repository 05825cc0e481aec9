"""Every algorithm refuses, before anything is loaded, a checkpoint written for another config (issue 25).

``load_from`` goes through mmengine's ``load_checkpoint(strict=False)``, which loads the keys that match, warns
about the rest and trains a partly random model: PCD's checkpoint into DINO, DINO's into OSS. Each algorithm's load
pre-hook refuses it whole (PCD, SEED, DisCo and OSSOffline through ``BaseDistiller``, DINO / SSLight and OSS through
``refuse_another_config``), as ``--resume`` and ``load_state_dict`` do.
"""
import copy
import os.path as osp
from typing import Dict

import pytest
import torch
from mmengine.config import Config
from mmengine.runner.checkpoint import load_checkpoint

from mmpcd.models.utils import CheckpointMismatchError
from mmpcd.testing import random_teacher
from mmselfsup.registry import MODELS

from conftest import REPO

CONFIGS = osp.join(REPO, 'configs')


def small_configs(swav_ckpt: str) -> Dict[str, dict]:
    """Model configs of every kind of algorithm, small enough to build in a second on a CPU."""
    pcd = Config.fromfile(osp.join(CONFIGS, 'pcd', 'cpu', 'pcd_resnet18-effnetlite0_1xb32-lars-15e_cifar10-mini.py'))
    dino = Config.fromfile(osp.join(CONFIGS, 'dino', 'cpu', 'dino_resnet18_1xb32-lars-15e_cifar10-mini.py'))
    oss = Config.fromfile(osp.join(CONFIGS, 'oss', 'cpu', 'oss_resnet18-r50_1xb32-lars-15e_cifar10-mini.py'))
    oss.model.teacher_backbone.depth = 18
    oss.model.teacher_neck.update(in_channels=512, hidden_channels=64)
    oss.model.head.update(num_prototypes=30, queue_length=8)
    offline = Config.fromfile(osp.join(CONFIGS, 'oss', 'oss-offline_resnet18-swav-r50_4xb64-coslr-130e_in1k.py'))
    offline.model.update(teacher_ckpt=swav_ckpt)
    offline.model.head.queue_length = 8
    configs = dict(PCD=pcd.model, DINO=dino.model, OSS=oss.model, OSSOffline=offline.model)
    configs['DINO, another head width'] = copy.deepcopy(dino.model)
    configs['DINO, another head width'].neck.out_channels = configs['DINO, another head width'].head.out_channels = 512
    configs['OSS, another queue length'] = copy.deepcopy(oss.model)
    configs['OSS, another queue length'].head.queue_length = 16
    return configs


@pytest.fixture(scope='module')
def checkpoints(tmp_path_factory) -> Dict[str, tuple]:
    """name -> (model config, path of a checkpoint of that model laid out as tools/train.py writes it)."""
    folder = tmp_path_factory.mktemp('foreign')
    swav_ckpt = str(folder / 'swav_800ep_pretrain.pth.tar')
    torch.save(random_teacher('swav_prototypes', 0), swav_ckpt)
    found = {}
    for name, cfg in small_configs(swav_ckpt).items():
        torch.manual_seed(0)
        model = MODELS.build(cfg)
        model.init_weights()
        path = str(folder / f'{name}.pth')
        torch.save(dict(meta=dict(epoch=1), state_dict=model.state_dict()), path)
        found[name] = (cfg, path)
    return found


@pytest.mark.parametrize('written_by, loaded_into', [
    ('PCD', 'DINO'),
    ('DINO', 'OSS'),
    ('OSS', 'DINO'),
    ('DINO', 'OSSOffline'),
    ('DINO, another head width', 'DINO'),
    ('OSS, another queue length', 'OSS'),
])
def test_a_checkpoint_of_another_config_is_refused_by_every_algorithm(checkpoints, written_by, loaded_into):
    """Nothing is loaded (before: DINO and OSS loaded the matching keys with a warning)."""
    cfg, _ = checkpoints[loaded_into]
    torch.manual_seed(1)
    model = MODELS.build(cfg)
    before = copy.deepcopy(model.state_dict())
    with pytest.raises(CheckpointMismatchError,
                       match=r'does not match this model \(was it written for another config\?\); nothing was loaded'):
        load_checkpoint(model, checkpoints[written_by][1], map_location='cpu', strict=False)  # as load_from does
    assert all(torch.equal(value, before[key]) for key, value in model.state_dict().items())


def test_the_message_names_the_keys_that_differ(checkpoints):
    model = MODELS.build(checkpoints['OSS'][0])
    wrong_shape = r'keys with a wrong shape \(1\): head.queue: checkpoint \(2, 16, 128\), model \(2, 8, 128\)'
    with pytest.raises(CheckpointMismatchError, match=wrong_shape):
        load_checkpoint(model, checkpoints['OSS, another queue length'][1], map_location='cpu', strict=False)


@pytest.mark.parametrize('name', ['DINO', 'OSS'])
def test_a_checkpoint_of_the_same_config_loads_whole(checkpoints, name):
    cfg, path = checkpoints[name]
    torch.manual_seed(1)
    model = MODELS.build(cfg)
    load_checkpoint(model, path, map_location='cpu', strict=False)
    saved = torch.load(path, weights_only=True)['state_dict']
    assert set(saved) == set(model.state_dict())
    assert all(torch.equal(value, saved[key]) for key, value in model.state_dict().items())
