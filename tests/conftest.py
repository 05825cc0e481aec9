import copy
import os
import os.path as osp
import socket
import subprocess
import sys
from typing import Tuple

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

import mmpcd
from mmpcd.paths import REPO_ROOT as REPO
from mmpcd.testing import random_teacher

TESTS = osp.dirname(osp.abspath(__file__))
# --cfg-options of configs/pcd_r18_demo.py for a quick run: 64-px crops, batches of 4 (6 iterations an epoch of its 24
# images), a checkpoint after every epoch, 1 epoch.
SMALL = {
    'train_dataloader.batch_size': 4,
    'train_dataloader.num_workers': 0,
    'train_dataloader.persistent_workers': False,
    'train_dataloader.dataset.pipeline.1.transforms.0.0.size': 64,
    'train_dataloader.dataset.pipeline.1.transforms.1.0.size': 64,
    'model.head.queue_len': 128,
    'default_hooks.checkpoint.interval': 1,
    'train_cfg.max_epochs': 1,
}
if osp.realpath(REPO) != osp.realpath(osp.dirname(TESTS)):
    raise ImportError(f'the tests in {TESTS} would run the mmpcd of another checkout, {osp.dirname(mmpcd.__file__)}: '
                      f'put this checkout first (PYTHONPATH={osp.dirname(TESTS)}) or pip install -e it')
sys.path.insert(0, TESTS)


@pytest.fixture(scope='session')
def mocov3_ckpt(tmp_path_factory) -> str:
    """A random teacher checkpoint in MoCo v3's released layout (r-50-1000ep.pth.tar)."""
    path = str(tmp_path_factory.mktemp('teachers') / 'r-50-1000ep.pth.tar')
    torch.save(random_teacher('mocov3', 0), path)
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


#: The dense benchmark's quick PCD run (tools/benchmarks/dense_cpu.py --quick --rows PCD --seeds 1).
QUICK_DENSE_PCD = ['tools/benchmarks/dense_cpu.py', '--quick', '--rows', 'PCD', '--seeds', '1', '--work-dir']


@pytest.fixture(scope='session')
def quick_dense_pcd(tmp_path_factory) -> Tuple[str, subprocess.CompletedProcess]:
    """The dense benchmark's quick PCD run, trained once for the tests that read it: its work dir and the completed
    command. The dense benchmark's test checks what it prints and writes; the fine-tuning benchmark's test fine-tunes
    its student (its run is reused, not trained again)."""
    work_dir = str(tmp_path_factory.mktemp('quick_dense_pcd'))
    out = subprocess.run([sys.executable, *QUICK_DENSE_PCD, work_dir], cwd=REPO, capture_output=True, text=True,
                         timeout=1800)
    return work_dir, out


def free_port() -> int:
    """A TCP port nobody listens on now, for a distributed run's master: the OS picks it (bind to port 0), so two
    test runs on one machine do not clash as fixed ports do. (The port is released before the run binds it: another
    process could take it in between, far less likely than two runs picking the same fixed number.)"""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def pytest_configure(config):
    init_default_scope('mmselfsup')
    os.chdir(REPO)  # configs name data paths relative to the repository root
    workers = os.environ.get('PYTEST_XDIST_WORKER_COUNT')
    if workers:  # pytest -n N: the cores shared among the workers and the runs they start (tests/README.md)
        threads = max(1, (os.cpu_count() or 1) // int(workers))
        torch.set_num_threads(threads)
        for name in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS'):
            os.environ[name] = str(threads)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Longest first, for ``pytest -n``'s scheduler: the tests that read the shared quick run (one group, so one
    worker trains it: ``--dist loadgroup``), then the other ``slow`` tests, then the rest, each in its files' order."""
    shared = quick_dense_pcd.__name__
    for item in items:
        if shared in item.fixturenames:
            item.add_marker(pytest.mark.xdist_group(shared))
    items.sort(key=lambda item: (shared not in item.fixturenames, item.get_closest_marker('slow') is None))
