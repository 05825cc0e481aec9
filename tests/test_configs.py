"""Every config loads; the main one holds the paper's recipe (Sec. 3.2)."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.registry import MODELS
from mmengine.utils import import_modules_from_strings

from conftest import REPO

CONFIGS = sorted(p for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'), recursive=True) if '_base_' not in p)


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: osp.relpath(p, REPO))
def test_config_loads(path):
    """The config loads and its model type is registered in the config's scope (a typo fails here)."""
    cfg = Config.fromfile(path)
    import_modules_from_strings(**cfg.get('custom_imports', dict(imports=[])))
    with MODELS.switch_scope_and_registry(cfg.get('default_scope')) as registry:
        assert registry.get(cfg.model.type) is not None, f'{cfg.model.type} is not registered'


def test_main_config_is_the_paper_recipe():
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'pcd_r18.py'))
    assert cfg.default_scope == 'mmselfsup' and 'mmpcd' in cfg.custom_imports.imports
    model = cfg.model
    assert model.type == 'PCD' and model.backbone.depth == 18 and model.teacher.backbone.depth == 50
    assert model.teacher_ckpt.endswith('r-50-1000ep.pth.tar') and model.teacher_ckpt_format == 'mocov3'
    assert model.head.queue_len == 65536 and model.head.temperature == 0.2
    assert model.attention.num_heads == 8 and model.attention.head_channels == 64
    assert model.symmetric and not model.cross_view
    assert cfg.train_dataloader.batch_size == 128  # x 8 processes = 1024
    assert cfg.optimizer.type == 'LARS' and cfg.optimizer.lr == 1.0 and cfg.optimizer.weight_decay == 1e-5
    assert cfg.auto_scale_lr == dict(base_batch_size=256, enable=True)  # 1.0 x 1024 / 256 = 4.0
    warmup, cosine = cfg.param_scheduler
    assert (warmup.type, warmup.end, cosine.type, cosine.end, cosine.eta_min) == ('LinearLR', 10, 'CosineAnnealingLR',
                                                                                  100, 0.)
    assert cfg.train_cfg.max_epochs == 100
    assert cfg.optim_wrapper.paramwise_cfg == dict(flat_decay_mult=0., flat_lars_exclude=True)  # biases, BN: 1-D
    view1, view2 = cfg.train_dataloader.dataset.pipeline[1].transforms
    probs = [(v[4]['prob'], v[5]['prob']) for v in (view1, view2)]  # blur, solarize
    assert probs == [(1.0, 0.0), (0.1, 0.2)] and view1[0]['size'] == 224
