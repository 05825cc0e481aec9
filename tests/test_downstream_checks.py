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

from mmpcd.benchmarks import downstream
from mmpcd.benchmarks.downstream import (BENCH, TASKS, check_pretrained_inits, config_with_options, pretrained_inits,
                                         run_downstream)
from mmpcd.export import norm_rescale
from mmpcd.models.utils import CheckpointMismatchError
from mmselfsup.registry import MODELS

from conftest import REPO

VOC07 = osp.join(BENCH, TASKS['voc07'].config)  # R18-C4: the backbone (stages 1-3) and the RoI head's stage 4


@pytest.fixture(scope='module')
def checkpoints(tmp_path_factory) -> dict:
    """A training checkpoint laid out as tools/train.py writes it (a ResNet-18 student) and its exports: plain
    (``student``), with NormRescale 0.25 (``rescaled``) and in torchvision's format, which records nothing."""
    folder = tmp_path_factory.mktemp('downstream_checks')
    torch.manual_seed(0)
    state = MODELS.build(dict(type='ResNet', depth=18, out_indices=[4])).state_dict()
    training = str(folder / 'epoch_1.pth')
    torch.save(dict(meta=dict(epoch=1), state_dict={f'backbone.{k}': v for k, v in state.items()}), training)
    exports = dict(student=[], rescaled=['--norm-rescale', '0.25'], torchvision=['--to', 'torchvision'])
    for name, options in exports.items():
        with pytest.MonkeyPatch.context() as patch:  # the real tool, in this process
            patch.setattr(sys, 'argv', ['export_student.py', training, str(folder / f'{name}.pth'), *options])
            runpy.run_path(osp.join(REPO, 'tools', 'model_converters', 'export_student.py'), run_name='__main__')
    return dict(training=training, **{name: str(folder / f'{name}.pth') for name in exports})


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
     r'of its 174 tensors .*Of what model.backbone builds \(type=ResNet, depth=34\), it lacks layer1.2 \(12 tensors\), '
     r'layer2.2 \(12 tensors\), layer2.3 \(12 tensors\), layer3.2 \(12 tensors\), .*: the checkpoint holds another '
     r'network, or part of one[\s\S]*missing keys \(84\): layer1.2.bn1.bias'),
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


@pytest.mark.parametrize(
    'content, error',
    [
        ('empty', 'CheckpointLoadError: cannot load the checkpoint to fine-tune'),  # read by run_downstream.py first
        ('nan', "NonFiniteWeightsError: the 'backbone.' module of"),  # the export's own error
    ])
def test_a_failed_export_is_reported_once(checkpoints, tmp_path, content, error):
    """The error, and no second traceback of run_downstream.py; exit status 1."""
    bad = tmp_path / 'epoch_1.pth'
    if content == 'empty':
        bad.write_bytes(b'')
    else:
        checkpoint = torch.load(checkpoints['training'], weights_only=True)
        checkpoint['state_dict']['backbone.conv1.weight'][0] = float('nan')
        torch.save(checkpoint, bad)
    out = subprocess.run([
        sys.executable, 'tools/benchmarks/run_downstream.py', 'voc07',
        str(bad), '--gpus', '1', '--work-dir',
        str(tmp_path / 'run')
    ], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 1
    assert error in out.stderr
    assert out.stderr.count('Traceback') == 1 and 'CalledProcessError' not in out.stderr, out.stderr


def test_a_checkpoint_without_a_stage_is_said_to_lack_it(checkpoints, tmp_path):
    """A checkpoint without ``layer4`` (the C4 head's stage) is said to lack it, not to be of "another depth"."""
    export = torch.load(checkpoints['student'], weights_only=True)
    export['state_dict'] = {k: v for k, v in export['state_dict'].items() if not k.startswith('layer4.')}
    cut = str(tmp_path / 'no_layer4.pth')
    torch.save(export, cut)
    with pytest.raises(
            CheckpointMismatchError, match=r'model.roi_head.shared_head.init_cfg: \S+no_layer4.pth would '
            r'leave model.roi_head.shared_head partly random: it fills 0 of its 30 tensors .*Of what '
            r'model.roi_head.shared_head builds \(type=ResLayerExtraNorm, depth=18\), it lacks layer4 '
            r'\(30 tensors\): the checkpoint holds another network, or part of one'):
        check_pretrained_inits(voc07_with(cut))


class Launched(Exception):
    """A fine-tuning would start now."""


@pytest.fixture
def until_fine_tuning(monkeypatch):
    """run_downstream runs the real export (a subprocess) and its checks, then stops where a fine-tuning would
    start."""
    export = downstream.run_or_exit

    def run(cmd):
        if not cmd[1].endswith('export_student.py'):
            raise Launched(cmd)
        export(cmd)

    monkeypatch.setattr(downstream, 'run_or_exit', run)


@pytest.mark.parametrize('given, said', [
    ('student', "holds no key under 'backbone.': taken as the backbone alone (an export), exported again with "
     "--prefix ''"),
    ('rescaled', 'taken as the backbone alone (an export)'),
    ('torchvision', 'records no NormRescale (meta.norm_rescale, which export_student.py writes): taken as not '
     'rescaled, NormRescale 0.25 is applied'),
    ('training', None),
])
def test_run_downstream_takes_an_export(checkpoints, tmp_path, capsys, until_fine_tuning, given, said):
    """An export is used as the student (before: refused, its keys lack 'backbone.'), with NormRescale 0.25 applied
    once for VOC07: the student fine-tuned is the training checkpoint's, rescaled once, whatever was given."""
    with pytest.raises(Launched):
        run_downstream(['voc07', checkpoints[given], '--gpus', '1', '--work-dir', str(tmp_path)])
    if said:
        assert said in capsys.readouterr().out
    student = torch.load(tmp_path / 'student.pth', weights_only=True)
    trained = torch.load(checkpoints['training'], weights_only=True)['state_dict']
    expected = norm_rescale({k[len('backbone.'):]: v for k, v in trained.items()}, 0.25)
    assert student['meta']['norm_rescale'] == 0.25 and student['state_dict'].keys() == expected.keys()
    assert all(torch.equal(v, expected[k]) for k, v in student['state_dict'].items())


def test_an_export_with_another_norm_rescale_is_refused(checkpoints, tmp_path):
    """COCO FPN fine-tunes without NormRescale: an export made with it is refused, not used or rescaled again."""
    with pytest.raises(
            ValueError, match=r'rescaled.pth is an export made with NormRescale 0.25 \(its '
            r'meta.norm_rescale\), and this task fine-tunes with none: rescaling again would compound it'):
        run_downstream(['coco-fpn', checkpoints['rescaled'], '--gpus', '1', '--work-dir', str(tmp_path)])
    assert os.listdir(tmp_path) == []


def test_run_downstream_passes_the_prefix(checkpoints, tmp_path, until_fine_tuning):
    """A checkpoint with the student under another module: ``--prefix`` reaches the export."""
    checkpoint = torch.load(checkpoints['training'], weights_only=True)
    checkpoint['state_dict'] = {f'model.{k}': v for k, v in checkpoint['state_dict'].items()}
    nested = str(tmp_path / 'nested.pth')
    torch.save(checkpoint, nested)
    with pytest.raises(Launched):
        run_downstream(
            ['coco-fpn', nested, '--gpus', '1', '--work-dir',
             str(tmp_path / 'run'), '--prefix', 'model.backbone.'])
    exported = torch.load(tmp_path / 'run' / 'student.pth', weights_only=True)
    assert torch.equal(exported['state_dict']['conv1.weight'], checkpoint['state_dict']['model.backbone.conv1.weight'])
    assert exported['meta']['norm_rescale'] is None
