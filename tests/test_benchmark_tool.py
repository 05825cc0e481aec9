"""tools/analysis_tools/benchmark_pcd.py: its FLOP count, and a tiny run that prints every table."""
import os.path as osp
import re
import subprocess
import sys

import pytest
import torch

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.join(REPO, 'tools', 'analysis_tools'))
from benchmark_pcd import flops  # noqa: E402


def test_flop_count_of_a_resnet50_forward():
    """ResNet-50 at 224 px: 4.09 G multiply-adds (torchvision's model card), a multiply-add counted as 2."""
    from mmselfsup.models.backbones import ResNet
    model = ResNet(depth=50)
    model.eval()  # mmcls's ResNet.train() returns None
    with torch.no_grad():
        count = flops(lambda: model(torch.zeros(1, 3, 224, 224)))
    assert count == pytest.approx(2 * 4.09e9, rel=0.01)


@pytest.mark.slow
def test_tiny_run_prints_both_layouts_against_the_ceiling():
    cmd = [sys.executable, 'tools/analysis_tools/benchmark_pcd.py', '--batch', '2', '--img-size', '64', '--repeats',
           '1', '--pipeline-images', '2', '--loss-batch', '2']
    out = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-5000:]
    text = out.stdout
    assert 'ratio efficient / straightforward' in text and re.search(r'\n\d+ GFLOP/s\n', text)
    rows = {line.split(' | ')[0].strip('| '): line.split(' | ') for line in text.splitlines() if line.startswith('| ')}
    assert float(rows['sum of the parts'][1]) == pytest.approx(float(rows['whole step (model.train_step)'][1]),
                                                             rel=0.02)
    for layout in ('default', 'channels-last'):
        assert re.search(rf'{layout}: [\d.]+ images per second, the step at [\d.]+ of the ceiling', text)
    assert 'workers needed to keep up' in text
