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
            export_here(patch, training_checkpoint, str(out), '--force')
    assert out.read_bytes() == b'previous export' and os.listdir(tmp_path) == ['student.pth']
    export_here(monkeypatch, training_checkpoint, str(out), '--force')
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
    export_here(monkeypatch, training_checkpoint, out, '--config', osp.join(REPO, config), '--force')
    assert torch.load(out, weights_only=True)['meta']['algorithm'] == expected
    export_here(monkeypatch, training_checkpoint, out, '--force')  # no config anywhere: unknown, not a guess
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


# Issue 33: no code from a checkpoint's config, no output replaced silently, exports of exports


def hostile_backbone_checkpoint(training_checkpoint: str, folder, backbone: dict) -> str:
    """The training checkpoint with ``model.backbone`` of its config (``meta['cfg']``, literals) set to ``backbone``."""
    checkpoint = torch.load(training_checkpoint, weights_only=True)
    checkpoint['meta']['cfg'] = f"model = dict(type='PCD', backbone={backbone!r})\n"
    path = str(folder / 'epoch_1.pth')
    torch.save(checkpoint, path)
    return path


@pytest.mark.parametrize('backbone, error, message', [
    (lambda probe, marker: dict(type='os.system', command=f'mkdir {marker}'), ValueError,
     r"model.backbone.type='os.system' is not the name of a registered module"),
    (lambda probe, marker: dict(type=probe), KeyError, 'PROBE is not in the mmselfsup::model registry'),
    (lambda probe, marker: dict(type=f'{probe}.ResNet', depth=18), ValueError,
     r"model.backbone.type='PROBE.ResNet' is not the name"),
    (lambda probe, marker: dict(type=f'mmcls.{probe}.ResNet', depth=18), ValueError,
     r"model.backbone.type='mmcls.PROBE.ResNet' is not"),
    (lambda probe, marker: dict(type='ResNet', depth=18, _scope_=probe), ValueError,
     r"model.backbone._scope_='PROBE' is not a scope of mmengine's registries \(mmcls, .*mmselfsup"),
    (lambda probe, marker: dict(type='ResNet', depth=18, norm_cfg=dict(type='os.system', command=f'mkdir {marker}')),
     ValueError, r"model.backbone.norm_cfg.type='os.system' is not the name"),
])
def test_a_checkpoint_config_builds_only_registered_modules(training_checkpoint, tmp_path, monkeypatch, backbone, error,
                                                            message):
    """``--to onnx`` builds ``model.backbone`` of the checkpoint's config: mmengine's registry resolved a dotted
    ``type`` with ``get_object_from_string`` (``os.system`` ran a shell command), imported ``{scope}.registry`` for an
    unknown scope (``_scope_`` or ``scope.Name``: the package ``scope`` ran) and imported a module named by an
    unregistered dotless ``type``. Each is refused, nested ones too, and nothing runs: the probe module, whose import
    makes a directory, is never imported, no shell command runs and nothing is written."""
    marker, probe = tmp_path / 'ran', f'mmpcd_probe_{tmp_path.name.replace("-", "_")}'
    (tmp_path / f'{probe}.py').write_text(f'import os\nos.mkdir({str(marker)!r})\nResNet = None\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    checkpoint = hostile_backbone_checkpoint(training_checkpoint, tmp_path, backbone(probe, marker))
    out = tmp_path / 'student.onnx'
    with pytest.raises(error, match=message.replace('PROBE', probe)):
        export_here(monkeypatch, checkpoint, str(out), '--to', 'onnx')
    assert not marker.exists() and not out.exists() and probe not in sys.modules


def test_registered_names_build_with_or_without_their_scope(training_checkpoint, tmp_path, monkeypatch):
    """What real configs hold stays allowed: ``mmselfsup.ResNet`` (a scope of the registry tree), nested
    ``norm_cfg=dict(type='BN')``; mmengine's fallback is back after the build."""
    checkpoint = hostile_backbone_checkpoint(training_checkpoint, tmp_path,
                                             dict(type='mmselfsup.ResNet', depth=18, norm_cfg=dict(type='BN')))
    export_here(monkeypatch, checkpoint, str(tmp_path / 'student.onnx'), '--to', 'onnx')
    assert (tmp_path / 'student.onnx').stat().st_size > 1e6
    from mmengine.registry import MODELS as ROOT
    assert ROOT.get('torch.nn.Identity') is torch.nn.Identity  # the fallback is mmengine's again


@pytest.mark.parametrize('to', ['mmdet', 'onnx'])
def test_an_existing_output_is_replaced_only_with_force(training_checkpoint, tmp_path, monkeypatch, capsys, to):
    """A kept ``.pth`` or ``.onnx`` stays byte for byte without ``--force`` (exit 2, before anything is read);
    ``--force`` replaces it."""
    out = tmp_path / f'kept.{"onnx" if to == "onnx" else "pth"}'
    out.write_bytes(b'a file someone kept')
    options = ['--to', to, '--config', osp.join(REPO, 'configs', 'pcd_r18_demo.py')] if to == 'onnx' else []
    with pytest.raises(SystemExit) as stop:
        export_here(monkeypatch, training_checkpoint, str(out), *options)
    assert stop.value.code == 2 and out.read_bytes() == b'a file someone kept'
    assert (f'error: the output {out} exists (0.0 MiB); it would be replaced by the {to} export of '
            f'{training_checkpoint}, and what it holds lost: choose another output path, or pass --force to replace it'
            in capsys.readouterr().err)
    export_here(monkeypatch, training_checkpoint, str(out), *options, '--force')
    assert out.read_bytes() != b'a file someone kept' and out.stat().st_size > 1e6


def test_an_output_that_is_a_directory_is_named(training_checkpoint, tmp_path, monkeypatch, capsys):
    with pytest.raises(SystemExit) as stop:
        export_here(monkeypatch, training_checkpoint, str(tmp_path), '--to', 'detectron2', '--force')
    assert stop.value.code == 2
    assert (f'error: the output {tmp_path} is a directory: give the path of the file to write, e.g. '
            f'{tmp_path / "student.pkl"}' in capsys.readouterr().err)
    assert os.listdir(tmp_path) == []


def test_an_export_is_exported_again_with_an_empty_prefix(training_checkpoint, tmp_path, monkeypatch):
    """An export holds the backbone alone: the default prefix names ``--prefix ''``; with it the tensors come
    through unchanged, and the NormRescale the first export records carries over (multiplied by a new one)."""
    first, again = str(tmp_path / 'student.pth'), str(tmp_path / 'again.pth')
    export_here(monkeypatch, training_checkpoint, first, '--norm-rescale', '0.25')
    with pytest.raises(
            KeyError, match=f"{first}: no key starts with 'backbone.' \\(keys found: conv1.weight, "
            r'.*for a checkpoint that holds the backbone alone \(an export of export_student.py, .*\), '
            r"pass --prefix ''"):
        export_here(monkeypatch, first, again)
    export_here(monkeypatch, first, again, '--prefix', '')
    exported, twice = (torch.load(path, weights_only=True) for path in (first, again))
    assert twice['meta'] == dict(source='student.pth', algorithm=None, norm_rescale=0.25)
    assert twice['state_dict'].keys() == exported['state_dict'].keys()
    assert all(torch.equal(v, exported['state_dict'][k]) for k, v in twice['state_dict'].items())
    export_here(monkeypatch, first, again, '--prefix', '', '--norm-rescale', '0.5', '--force')
    assert torch.load(again, weights_only=True)['meta']['norm_rescale'] == 0.125
