"""run_downstream.py refuses a fine-tuning whose Pretrained init would leave the backbone partly random, before it
launches anything, and a failed export is reported once, by the export (issue 25).

mmengine's ``Pretrained`` loads with ``strict=False``: the raw training checkpoint without ``prefix``, or a
ResNet-18 export under ``depth=34``, left the backbone (partly) random with only a warning.
"""
import os
import os.path as osp
import runpy
import subprocess
import sys

import pytest
import torch

from mmpcd.benchmarks.downstream import (BENCH, TASKS, check_pretrained_inits, config_with_options, pretrained_inits,
                                         run_downstream)
from mmpcd.models.utils import CheckpointMismatchError
from mmselfsup.registry import MODELS

from conftest import REPO

VOC07 = osp.join(BENCH, TASKS['voc07'].config)  # R18-C4: the backbone (stages 1-3) and the RoI head's stage 4


@pytest.fixture(scope='module')
def checkpoints(tmp_path_factory) -> dict:
    """A training checkpoint laid out as tools/train.py writes it (a ResNet-18 student) and its export."""
    folder = tmp_path_factory.mktemp('downstream_checks')
    torch.manual_seed(0)
    state = MODELS.build(dict(type='ResNet', depth=18, out_indices=[4])).state_dict()
    training = str(folder / 'epoch_1.pth')
    torch.save(dict(meta=dict(epoch=1), state_dict={f'backbone.{k}': v for k, v in state.items()}), training)
    student = str(folder / 'student.pth')
    with pytest.MonkeyPatch.context() as patch:  # the real tool, in this process
        patch.setattr(sys, 'argv', ['export_student.py', training, student])
        runpy.run_path(osp.join(REPO, 'tools', 'model_converters', 'export_student.py'), run_name='__main__')
    return dict(training=training, student=student)


def voc07_with(checkpoint: str, *options: str):
    """The VOC07 config with both Pretrained inits on ``checkpoint``, then ``options``."""
    return config_with_options(VOC07, [
        f'model.backbone.init_cfg.checkpoint={checkpoint}', f'model.roi_head.shared_head.init_cfg.checkpoint='
        f'{checkpoint}', *options
    ])


def test_the_modules_with_a_pretrained_init_are_found(checkpoints):
    cfg = voc07_with(checkpoints['student'])
    assert [path for path, _, _ in pretrained_inits(cfg.model)] == ['model.backbone', 'model.roi_head.shared_head']


@pytest.mark.parametrize('checkpoint, options', [
    ('student', []),
    ('training',
     ["model.backbone.init_cfg.prefix='backbone.'", 'model.roi_head.shared_head.init_cfg.prefix='
      "'backbone.'"]),
])
def test_the_documented_init_cfgs_load_every_tensor(checkpoints, checkpoint, options):
    """The export, or the training checkpoint with prefix='backbone.', fills every tensor of the backbone and of
    the C4 shared head but its new BN (MoCo's extra norm)."""
    check_pretrained_inits(voc07_with(checkpoints[checkpoint], *options))


@pytest.mark.parametrize('checkpoint, options, message', [
    ('training', [], r'model.backbone.init_cfg: \S+epoch_1.pth would leave model.backbone partly random: it fills 0 '
     r"of its 90 tensors .*Its keys start with 'backbone.': it is a training checkpoint of tools/train.py. Export "
     r"the student .*or set model.backbone.init_cfg.prefix='backbone.'"),
    ('student', ['model.backbone.depth=34'], r'\S+student.pth would leave model.backbone partly random: it fills 90 '
     r'of its 174 tensors .*another network than model.backbone builds \(type=ResNet, depth=34\)[\s\S]*'
     r'missing keys \(84\): layer1.2.bn1.bias'),
    ('student', ['model.roi_head.shared_head.depth=34'], r'would leave model.roi_head.shared_head partly random'),
    ('training', ["model.backbone.init_cfg.prefix='student.'"], r'It holds no key under '
     r"model.backbone.init_cfg.prefix='student.'"),
])
def test_an_init_that_leaves_a_module_random_is_refused(checkpoints, checkpoint, options, message):
    with pytest.raises(CheckpointMismatchError, match=message):
        check_pretrained_inits(voc07_with(checkpoints[checkpoint], *options))


def test_run_downstream_checks_before_it_launches_a_fine_tuning(checkpoints, tmp_path):
    """The real tool's path: the export is made, the check refuses it, no seed's run is started."""
    with pytest.raises(CheckpointMismatchError, match='would leave model.backbone partly random'):
        run_downstream([
            'voc07', checkpoints['training'], '--gpus', '1', '--work-dir',
            str(tmp_path), '--cfg-options', 'model.backbone.depth=34'
        ])
    assert os.listdir(tmp_path) == ['student.pth']


def test_a_failed_export_is_reported_once(tmp_path):
    """The export's own error, and no second traceback of run_downstream.py; its exit status."""
    empty = tmp_path / 'epoch_1.pth'
    empty.write_bytes(b'')
    out = subprocess.run([
        sys.executable, 'tools/benchmarks/run_downstream.py', 'voc07',
        str(empty), '--gpus', '1', '--work-dir',
        str(tmp_path / 'run')
    ], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 1
    assert 'CheckpointLoadError: cannot load the training checkpoint' in out.stderr
    assert out.stderr.count('Traceback') == 1 and 'CalledProcessError' not in out.stderr, out.stderr
