"""Exported students load in mmdet, torchvision and detectron2's layout; NormRescale keeps the function."""
import copy
import os
import os.path as osp
import pickle
import runpy
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
import torchvision
from mmengine.config import Config
from mmengine.registry import DefaultScope

from mmpcd.export import norm_rescale
from mmpcd.fileio import CheckpointLoadError
from mmselfsup.registry import MODELS

from conftest import REPO


@pytest.fixture(scope='module')
def training_checkpoint(tmp_path_factory) -> str:
    """A checkpoint shaped like tools/train.py's: a ResNet-18 student under backbone.*, trained BN statistics."""
    torch.manual_seed(0)
    backbone = MODELS.build(dict(type='ResNet', depth=18, out_indices=[4]))
    backbone.train()
    with torch.no_grad():
        for _ in range(2):
            backbone(torch.randn(4, 3, 64, 64))  # non-trivial running statistics
    path = str(tmp_path_factory.mktemp('ckpt') / 'epoch_1.pth')
    state = {f'backbone.{k}': v for k, v in backbone.state_dict().items()}
    state['head.queue'] = torch.randn(256, 8)
    torch.save(dict(meta=dict(epoch=1), state_dict=state), path)
    return path


def export(checkpoint: str, out: str, *options: str) -> None:
    subprocess.run([sys.executable, 'tools/model_converters/export_student.py', checkpoint, out, *options], cwd=REPO,
                   check=True, capture_output=True)


def export_here(monkeypatch, *argv: str) -> None:
    """Run the tool in this process (no interpreter start-up); argparse errors are SystemExit(2)."""
    monkeypatch.setattr(sys, 'argv', ['export_student.py', *argv])
    runpy.run_path(osp.join(REPO, 'tools', 'model_converters', 'export_student.py'), run_name='__main__')


@pytest.mark.parametrize('fmt', ['mmdet', 'torchvision'])
def test_mask_rcnn_r18_fpn_loads_the_student(training_checkpoint, tmp_path, fmt):
    """mmdet's Pretrained init takes our export and a torchvision-format checkpoint alike."""
    out = str(tmp_path / 'student.pth')
    export(training_checkpoint, out, '--to', fmt)
    config = tmp_path / 'mask-rcnn_r18_fpn.py'
    config.write_text("_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'\n"
                      f"model = dict(backbone=dict(depth=18, init_cfg=dict(type='Pretrained', checkpoint='{out}')),\n"
                      '             neck=dict(in_channels=[64, 128, 256, 512]))\n')
    cfg = Config.fromfile(str(config))
    from mmdet.registry import MODELS as DET_MODELS
    with DefaultScope.overwrite_default_scope('mmdet'):
        detector = DET_MODELS.build(cfg.model)
    detector.init_weights()
    trained = torch.load(training_checkpoint, weights_only=True)['state_dict']
    loaded = detector.backbone.state_dict()
    assert len(loaded) == sum(k.startswith('backbone.') for k in trained)
    for key, value in loaded.items():
        assert torch.equal(value, trained[f'backbone.{key}']), key


def test_torchvision_resnet_loads_strictly_and_computes_the_same(training_checkpoint, tmp_path):
    out = str(tmp_path / 'student_tv.pth')
    export(training_checkpoint, out, '--to', 'torchvision')
    model = torchvision.models.resnet18()
    model.fc = torch.nn.Identity()
    model.load_state_dict(torch.load(out, weights_only=True), strict=True)
    ours = MODELS.build(dict(type='ResNet', depth=18, out_indices=[4]))
    ours.load_state_dict({
        k[len('backbone.'):]: v
        for k, v in torch.load(training_checkpoint, weights_only=True)['state_dict'].items()
        if k.startswith('backbone.')
    })
    model.eval(), ours.eval()
    x = torch.randn(2, 3, 96, 96)
    with torch.no_grad():
        tv = model.layer4(model.layer3(model.layer2(model.layer1(model.maxpool(model.relu(model.bn1(
            model.conv1(x))))))))
        torch.testing.assert_close(tv, ours(x)[-1])


def test_detectron2_pickle_has_its_names(training_checkpoint, tmp_path):
    out = str(tmp_path / 'student.pkl')
    export(training_checkpoint, out, '--to', 'detectron2')
    with open(out, 'rb') as f:
        d2 = pickle.load(f)
    assert d2['matching_heuristics'] is True
    model = d2['model']
    trained = torch.load(training_checkpoint, weights_only=True)['state_dict']
    pairs = {
        'stem.conv1.weight': 'conv1.weight', 'stem.conv1.norm.running_var': 'bn1.running_var',
        'res2.0.conv2.norm.weight': 'layer1.0.bn2.weight', 'res3.0.shortcut.weight': 'layer2.0.downsample.0.weight',
        'res5.1.conv1.weight': 'layer4.1.conv1.weight', 'res4.0.shortcut.norm.bias': 'layer3.0.downsample.1.bias'
    }
    for d2_key, key in pairs.items():
        assert (model[d2_key] == trained[f'backbone.{key}'].numpy()).all(), d2_key
    assert not any('layer' in k or 'bn' in k or 'num_batches' in k for k in model)


def test_norm_rescale_scales_convs_and_keeps_the_function(training_checkpoint, tmp_path):
    out = str(tmp_path / 'rescaled.pth')
    export(training_checkpoint, out, '--norm-rescale', '0.25')
    rescaled = torch.load(out, weights_only=True)['state_dict']
    trained = {
        k[len('backbone.'):]: v
        for k, v in torch.load(training_checkpoint, weights_only=True)['state_dict'].items()
        if k.startswith('backbone.')
    }
    assert set(rescaled) == set(trained)
    for key, value in trained.items():
        factor = 0.25 if (key.endswith('weight') and value.dim() == 4) or key.endswith('running_mean') else \
            0.0625 if key.endswith('running_var') else 1.0
        torch.testing.assert_close(rescaled[key], value * factor if value.is_floating_point() else value)
    models = []
    for state in (trained, rescaled):
        model = MODELS.build(dict(type='ResNet', depth=18, out_indices=[4]))
        model.load_state_dict(state)
        model.eval()
        models.append(model)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():  # the same network up to BN's eps
        torch.testing.assert_close(models[1](x)[-1], models[0](x)[-1], rtol=1e-2, atol=1e-2)
    # ... whose conv weights get 1/0.25 = 4x larger gradients (the effective learning rate rises 16x)
    grads = []
    for model in models:
        model.train()
        model(x)[-1].square().mean().backward()
        grads.append(model.layer2[0].conv1.weight.grad.norm())
    torch.testing.assert_close(grads[1], grads[0] * 4, rtol=5e-2, atol=0)  # up to BN's eps
    with pytest.raises(KeyError, match='no conv followed by a BN'):
        norm_rescale({'fc.weight': torch.ones(2, 2)})


def test_norm_rescale_keeps_mobilenet_v3():
    """MobileNet v3: the convs followed by a BN are rescaled, the squeeze-excitation convs (bias, no BN) are not.
    With BN's eps scaled by 0.25**2 too (as the MobileNet C4 / FCN configs do), it is the same function, in train
    and in eval mode."""
    torch.manual_seed(0)
    trained = MODELS.build(dict(type='MobileNetV3Stages'))  # mmcls' BN eps 1e-3
    with torch.no_grad():
        trained(torch.randn(4, 3, 64, 64))  # non-trivial running statistics
    state = copy.deepcopy(trained.state_dict())
    rescaled = norm_rescale(state)
    assert rescaled['layer5.depthwise_conv.conv.weight'].equal(state['layer5.depthwise_conv.conv.weight'] * 0.25)
    assert rescaled['layer5.depthwise_conv.bn.running_var'].equal(state['layer5.depthwise_conv.bn.running_var'] / 16)
    assert rescaled['layer0.conv.weight'].equal(state['layer0.conv.weight'] * 0.25)
    for key in ('layer5.se.conv1.conv.weight', 'layer5.se.conv2.conv.bias', 'layer5.depthwise_conv.bn.weight'):
        assert rescaled[key].equal(state[key]), key
    x = torch.randn(4, 3, 64, 64)
    for mode in (True, False):
        trained.load_state_dict(state)
        model = MODELS.build(dict(type='MobileNetV3Stages', norm_cfg=dict(type='BN', eps=1e-3 * 0.25**2)))
        model.load_state_dict(rescaled)
        model.train(mode)
        trained.train(mode)
        with torch.no_grad():
            for out, reference in zip(model(x), trained(x)):
                torch.testing.assert_close(out, reference, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize('scale', ['0', '-0.25', 'nan', 'inf'])
def test_norm_rescale_scale_must_be_positive(training_checkpoint, tmp_path, monkeypatch, capsys, scale):
    """0 would zero every conv, a negative scale flip the sign of the features."""
    out = tmp_path / 'student.pth'
    with pytest.raises(SystemExit) as exit_:
        export_here(monkeypatch, training_checkpoint, str(out), '--norm-rescale', scale)
    assert exit_.value.code == 2 and not out.exists()
    assert 'argument --norm-rescale: the NormRescale scale must be a finite number > 0' in capsys.readouterr().err
    with pytest.raises(ValueError, match=f'finite number > 0, not {float(scale)}'):
        norm_rescale({'conv1.weight': torch.ones(1, 1, 1, 1), 'bn1.running_var': torch.ones(1)}, float(scale))


@pytest.mark.parametrize('spelling', ['same', 'dotted', 'symlink', 'hardlink'])
def test_export_refuses_to_overwrite_its_input(training_checkpoint, tmp_path, monkeypatch, capsys, spelling):
    work = tmp_path / 'work'
    work.mkdir()
    checkpoint = str(work / 'epoch_1.pth')
    shutil.copy(training_checkpoint, checkpoint)
    out = {
        'same': checkpoint, 'dotted': str(tmp_path / 'work' / '.' / '..' / 'work' / 'epoch_1.pth'),
        'symlink': str(tmp_path / 'link.pth'), 'hardlink': str(tmp_path / 'hard.pth')
    }[spelling]
    if spelling == 'symlink':
        os.symlink(checkpoint, out)
    elif spelling == 'hardlink':
        os.link(checkpoint, out)
    before = open(checkpoint, 'rb').read()
    with pytest.raises(SystemExit) as exit_:
        export_here(monkeypatch, checkpoint, out)
    assert exit_.value.code == 2
    assert f'the output {out} is the input checkpoint {checkpoint}' in capsys.readouterr().err
    assert open(checkpoint, 'rb').read() == before


def test_failed_export_leaves_the_existing_output(training_checkpoint, tmp_path, monkeypatch):
    """Killed or failing while writing: the previous output stays whole and no temporary file is left."""
    out = tmp_path / 'student.pth'
    out.write_bytes(b'previous export')

    def fail_halfway(obj, f):
        f.write(b'half an export')
        raise OSError('No space left on device')

    with monkeypatch.context() as patch:
        patch.setattr(torch, 'save', fail_halfway)
        with pytest.raises(OSError, match='No space left'):
            export_here(patch, training_checkpoint, str(out))
    assert out.read_bytes() == b'previous export' and os.listdir(tmp_path) == ['student.pth']
    export_here(monkeypatch, training_checkpoint, str(out))
    assert 'conv1.weight' in torch.load(out, weights_only=True)['state_dict']
    assert os.listdir(tmp_path) == ['student.pth']


@pytest.mark.parametrize('content', ['random bytes', 'truncated'])
def test_unreadable_training_checkpoint_is_named(training_checkpoint, tmp_path, monkeypatch, content):
    bad = tmp_path / 'epoch_1.pth'
    good = open(training_checkpoint, 'rb').read()
    bad.write_bytes(good[:len(good) // 2] if content == 'truncated' else np.random.default_rng(0).bytes(4096))
    with pytest.raises(CheckpointLoadError, match=f'training checkpoint {bad} .*download or copy it again') as err:
        export_here(monkeypatch, str(bad), str(tmp_path / 'student.pth'))
    assert 'will likely succeed' not in str(err.value) and err.value.__suppress_context__  # torch's advice unseen
    assert not (tmp_path / 'student.pth').exists()


@pytest.mark.parametrize(
    'config, expected',
    [
        ('configs/pcd/cpu/pcd_resnet18-effnetlite0_1xb32-lars-15e_cifar10-mini.py', 'PCD'),
        ('configs/seed/cpu/seed_resnet18-effnetlite0_1xb32-lars-15e_cifar10-mini.py', 'SEED'),
        ('configs/disco/cpu/disco_resnet18-effnetlite0_1xb32-lars-15e_cifar10-mini.py', 'DisCo'),
        ('configs/dino/cpu/dino_resnet18_1xb32-lars-15e_cifar10-mini.py', 'DINO'),
        ('configs/sslight/cpu/sslight_resnet18_1xb32-lars-15e_cifar10-mini.py', 'DINO'),  # DINO with SSLight's α
        ('configs/oss/cpu/oss_resnet18-r50_1xb32-lars-15e_cifar10-mini.py', 'OSS'),
    ])
def test_export_names_the_algorithm_that_trained_it(training_checkpoint, tmp_path, monkeypatch, config, expected):
    """meta.algorithm is the run's ``model.type`` (SSLight is the DINO algorithm with its loss weight α), read from
    the config the checkpoint holds (as mmengine's Runner dumps it), or from ``--config``; None where there is
    neither."""
    checkpoint = torch.load(training_checkpoint, weights_only=True)
    checkpoint['meta']['cfg'] = Config.fromfile(osp.join(REPO, config)).pretty_text
    with_cfg, out = str(tmp_path / 'epoch_1.pth'), str(tmp_path / 'student.pth')
    torch.save(checkpoint, with_cfg)
    export_here(monkeypatch, with_cfg, out)
    assert torch.load(out, weights_only=True)['meta']['algorithm'] == expected
    export_here(monkeypatch, training_checkpoint, out, '--config', osp.join(REPO, config))
    assert torch.load(out, weights_only=True)['meta']['algorithm'] == expected
    export_here(monkeypatch, training_checkpoint, out)  # no config anywhere: unknown, not a guess
    assert torch.load(out, weights_only=True)['meta']['algorithm'] is None


@pytest.mark.parametrize('to', ['mmdet', 'onnx'])
def test_the_config_a_checkpoint_holds_is_parsed_never_run(training_checkpoint, tmp_path, monkeypatch, to):
    """A checkpoint's ``meta['cfg']`` can hold any code: the export reads ``model.type`` and ``model.backbone`` from
    it as literals, and code there is refused by name, never executed."""
    marker = tmp_path / 'ran'
    checkpoint = torch.load(training_checkpoint, weights_only=True)
    checkpoint['meta']['cfg'] = (f'import pathlib\npathlib.Path({str(marker)!r}).touch()\n'
                                 f'model = dict(type=str(pathlib.Path({str(marker)!r}).touch()), '
                                 f"backbone=dict(type='ResNet', depth=pathlib.Path({str(marker)!r}).touch() or 18))\n")
    hostile, out = tmp_path / 'epoch_1.pth', tmp_path / f'student.{to}'
    torch.save(checkpoint, hostile)
    key = 'model.backbone' if to == 'onnx' else 'model.type'
    with pytest.raises(ValueError, match=f'{hostile}: {key} in the config it holds .* not a literal value .*--config'):
        export_here(monkeypatch, str(hostile), str(out), '--to', to)
    assert not marker.exists() and not out.exists()
