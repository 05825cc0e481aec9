import copy
import os
import os.path as osp
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

import mmpcd  # noqa: F401
from mmpcd.models.teachers import RANDOM_CHECKPOINTS

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))


@pytest.fixture(scope='session')
def mocov3_ckpt(tmp_path_factory) -> str:
    """A random teacher checkpoint in MoCo v3's released layout (r-50-1000ep.pth.tar)."""
    path = str(tmp_path_factory.mktemp('teachers') / 'r-50-1000ep.pth.tar')
    torch.save(RANDOM_CHECKPOINTS['mocov3'](0), path)
    return path


@pytest.fixture(scope='session')
def base_model_cfg() -> dict:
    """The model of configs/pcd_r18.py."""
    return Config.fromfile(osp.join(REPO, 'configs', 'pcd_r18.py')).model.to_dict()


@pytest.fixture
def model_cfg(base_model_cfg, mocov3_ckpt) -> dict:
    """configs/pcd_r18.py's model with the random MoCo v3 teacher and a small queue."""
    cfg = copy.deepcopy(base_model_cfg)
    cfg['teacher_ckpt'] = mocov3_ckpt
    cfg['head']['queue_len'] = 64
    return cfg


def pytest_configure(config):
    init_default_scope('mmselfsup')
    os.chdir(REPO)  # configs name data paths relative to the repository root
