"""Short versions of every evaluation of Table 1 on the shipped real data, through tools/benchmarks/run_downstream.py:
export the student, fine-tune a few iterations, evaluate with the real metric, read the numbers back."""
import json
import math
import subprocess
import sys

import pytest
import torch

from conftest import REPO
from mmselfsup.registry import MODELS

# task: (short config in tests/configs, seeds, metric -> upper bound of its range)
SHORT_RUNS = {
    'voc07': ('voc07_short.py', 1, {'pascal_voc/AP50': 100., 'pascal_voc/mAP': 100.}),
    'coco-c4': ('coco_c4_short.py', 1, {'coco/bbox_mAP': 1., 'coco/segm_mAP': 1.}),
    'coco-fpn': ('coco_fpn_short.py', 1, {'coco/bbox_mAP': 1., 'coco/segm_mAP': 1.}),
    'cityscapes': ('cityscapes_short.py', 2, {'mIoU': 100.}),
    'linear': ('linear_cifar_short.py', 1, {'accuracy/top1': 100.}),
}


@pytest.fixture(scope='module')
def pcd_checkpoint(tmp_path_factory) -> str:
    """A checkpoint laid out like tools/train.py's, holding a ResNet-18 student."""
    torch.manual_seed(0)
    backbone = MODELS.build(dict(type='ResNet', depth=18, out_indices=[4]))
    path = str(tmp_path_factory.mktemp('pcd') / 'epoch_1.pth')
    torch.save(dict(meta=dict(epoch=1), state_dict={f'backbone.{k}': v for k, v in backbone.state_dict().items()}),
               path)
    return path


@pytest.mark.slow
@pytest.mark.parametrize('task', sorted(SHORT_RUNS))
def test_short_evaluation(task, pcd_checkpoint, tmp_path):
    config, seeds, ranges = SHORT_RUNS[task]
    cmd = [sys.executable, 'tools/benchmarks/run_downstream.py', task, pcd_checkpoint, '--gpus', '1',
           '--seeds', str(seeds), '--work-dir', str(tmp_path), '--config', f'tests/configs/{config}']
    out = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=1200)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-5000:]
    summary = json.loads((tmp_path / 'summary.json').read_text())
    assert set(summary) == set(ranges)
    for metric, upper in ranges.items():
        runs = summary[metric]['runs']
        assert len(runs) == seeds and all(math.isfinite(v) and 0 <= v <= upper for v in runs), (metric, runs)
    assert '| mean | std |' in out.stdout
    # the fine-tuned backbone started from the exported student (NormRescale for C4 / FCN)
    student = torch.load(tmp_path / 'student.pth', weights_only=True)
    assert student['meta']['norm_rescale'] == (0.25 if task in ('voc07', 'coco-c4', 'cityscapes') else None)
    log = next(tmp_path.glob('seed0/*/*.log')).read_text()
    assert f'Load checkpoint from {tmp_path}/student.pth' in log or 'student.pth' in log
