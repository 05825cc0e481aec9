"""tools/analysis_tools/benchmark_pcd.py (mmpcd.benchmarks.train_step): its FLOP count, its teacher for
every format, its device path, and a tiny run that prints every table."""
import os.path as osp
import re
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

from mmpcd.benchmarks.train_step import benchmark_teacher, device_augment_path, flops
from mmpcd.models.teachers import load_teacher_checkpoint

from conftest import REPO


def test_flop_count_of_a_resnet50_forward():
    """ResNet-50 at 224 px: 4.09 G multiply-adds (torchvision's model card), a multiply-add counted as 2."""
    from mmselfsup.models.backbones import ResNet
    model = ResNet(depth=50)
    model.eval()  # mmcls's ResNet.train() returns None
    with torch.no_grad():
        count = flops(lambda: model(torch.zeros(1, 3, 224, 224)))
    assert count == pytest.approx(2 * 4.09e9, rel=0.01)


@pytest.mark.parametrize('config, packaged', [('pcd_resnet18_8xb128-coslr-100e_in1k.py', False),
                                              ('pcd_resnet18-effnetlite0_8xb128-coslr-100e_in1k.py', True)])
def test_teacher_of_each_kind_of_format(config, packaged, tmp_path):
    """A format whose file a package ships is timed with that file (None); another with a random file of its
    layout (the EfficientNet config once failed with a KeyError: the tables of formats disagreed)."""
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'pcd', config))
    path = benchmark_teacher(cfg, str(tmp_path))
    assert (path is None) == packaged
    backbone, head = load_teacher_checkpoint(path, cfg.model.teacher_ckpt_format)
    assert backbone and head


def test_device_path_is_the_device_augment_config():
    """The benchmark's device path of the paper's config is the shipped device-augment config's loader and data
    preprocessor."""
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'pcd', 'pcd_resnet18_8xb128-coslr-100e_in1k.py'))
    shipped = Config.fromfile(osp.join(REPO, 'configs', 'pcd', 'pcd_resnet18_8xb128-device-aug-coslr-100e_in1k.py'))
    derived = device_augment_path(cfg)
    assert derived.train_dataloader.to_dict() == shipped.train_dataloader.to_dict()
    assert derived.model.to_dict() == shipped.model.to_dict()


@pytest.mark.slow
@pytest.mark.alone  # the parts' timings must add up to the whole step's
def test_tiny_run_prints_both_layouts_against_the_ceiling():
    cmd = [
        sys.executable, 'tools/analysis_tools/benchmark_pcd.py', '--batch', '2', '--img-size', '64', '--repeats', '1',
        '--pipeline-images', '2', '--loss-batch', '2', '--workers', '1', '--e2e-steps', '1'
    ]
    out = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-5000:]
    text = out.stdout
    assert 'ratio efficient / straightforward' in text and re.search(r'\n\d+ GFLOP/s\n', text)
    rows = {line.split(' | ')[0].strip('| '): line.split(' | ') for line in text.splitlines() if line.startswith('| ')}
    whole = float(rows['whole step (model.train_step)'][1])
    assert float(rows['sum of the parts'][1]) == pytest.approx(whole, rel=0.02)
    for layout in ('default', 'channels-last'):
        assert re.search(rf'{layout}: [\d.]+ images per second, the step at [\d.]+ of the ceiling', text)
    assert 'workers needed to keep up' in text
    for path in ('CPU path (workers augment)', 'device path (workers decode and draw)'):  # parts 4 and 5
        assert [
            float(row[1]) > 0 for row in (line.split(' | ') for line in text.splitlines()) if row[0].strip('| ') == path
        ] == [True, True]
