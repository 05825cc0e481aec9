"""``export_student.py --to onnx``: the student backbone in ONNX computes what the PyTorch backbone computes, at any
batch size and image size."""
import os.path as osp
import runpy
import sys

import numpy as np
import onnxruntime
import pytest
import torch
from mmengine.config import Config

from mmselfsup.registry import MODELS

from conftest import REPO

CONFIG = osp.join(REPO, 'configs', 'pcd_r18_demo.py')
#: (batch, height, width) of the inputs checked; the export traces (1, 64, 64).
SHAPES = [(1, 64, 64), (2, 96, 128), (3, 80, 48)]


def training_checkpoint(path: str, with_config: bool) -> torch.nn.Module:
    """Write a checkpoint shaped like tools/train.py's (its config in ``meta['cfg']`` unless not
    ``with_config``) whose student has trained BN statistics; return that student, in eval mode."""
    torch.manual_seed(0)
    cfg = Config.fromfile(CONFIG)
    student = MODELS.build(cfg.model.backbone)
    with torch.no_grad():
        for _ in range(2):
            student(torch.randn(4, 3, 64, 64))  # non-trivial running statistics
    state = {f'backbone.{k}': v for k, v in student.state_dict().items()}
    state['head.queue'] = torch.randn(256, 8)
    meta = dict(epoch=1, cfg=cfg.pretty_text) if with_config else dict(epoch=1)
    torch.save(dict(meta=meta, state_dict=state), path)
    student.eval()
    return student


def export_here(monkeypatch, *argv: str) -> None:
    monkeypatch.setattr(sys, 'argv', ['export_student.py', *argv])
    runpy.run_path(osp.join(REPO, 'tools', 'model_converters', 'export_student.py'), run_name='__main__')


@pytest.mark.parametrize('config_from', ['checkpoint', '--config'])
def test_onnx_student_matches_the_pytorch_backbone(tmp_path, monkeypatch, capsys, config_from):
    checkpoint, out = str(tmp_path / 'epoch_1.pth'), str(tmp_path / 'student.onnx')
    student = training_checkpoint(checkpoint, with_config=config_from == 'checkpoint')
    options = ['--config', CONFIG] if config_from == '--config' else []
    export_here(monkeypatch, checkpoint, out, '--to', 'onnx', *options)
    assert f'to {out} (onnx: image -> feature_map)' in capsys.readouterr().out
    session = onnxruntime.InferenceSession(out, providers=['CPUExecutionProvider'])
    assert [i.name for i in session.get_inputs()] == ['image']
    assert [o.name for o in session.get_outputs()] == ['feature_map']
    worst = 0.0
    for batch, height, width in SHAPES:
        x = torch.randn(batch, 3, height, width)
        with torch.no_grad():
            expected = student(x)[-1].numpy()
        (got, ) = session.run(None, {'image': x.numpy()})
        assert got.shape == expected.shape == (batch, 512, -(-height // 32), -(-width // 32))
        worst = max(worst, float(np.abs(got - expected).max()))
    print(f'ONNX vs PyTorch, max abs difference over {SHAPES}: {worst:.2e}')
    assert worst < 1e-4


def test_onnx_export_without_a_config_is_refused(tmp_path, monkeypatch):
    checkpoint, out = str(tmp_path / 'epoch_1.pth'), tmp_path / 'student.onnx'
    training_checkpoint(checkpoint, with_config=False)
    with pytest.raises(KeyError, match='holds no config .* pass the training config with --config'):
        export_here(monkeypatch, checkpoint, str(out), '--to', 'onnx')
    assert not out.exists()


def test_an_export_goes_to_onnx_with_an_empty_prefix(tmp_path, monkeypatch):
    """An export of this tool holds the backbone alone, and no config: ``--to onnx`` names ``--prefix ''`` (before:
    "no key starts with 'backbone.'; is this a training checkpoint?"), then ``--config``; with both, the graph is
    the student's."""
    checkpoint, export, out = (str(tmp_path / name) for name in ('epoch_1.pth', 'student.pth', 'student.onnx'))
    student = training_checkpoint(checkpoint, with_config=True)
    export_here(monkeypatch, checkpoint, export)
    with pytest.raises(KeyError, match=f"{export}: no key starts with 'backbone.' .*pass --prefix ''"):
        export_here(monkeypatch, export, out, '--to', 'onnx')
    with pytest.raises(KeyError, match=f'{export} holds no config .* pass the training config with --config'):
        export_here(monkeypatch, export, out, '--to', 'onnx', '--prefix', '')
    export_here(monkeypatch, export, out, '--to', 'onnx', '--prefix', '', '--config', CONFIG)
    x = torch.randn(2, 3, 64, 96)
    (got, ) = onnxruntime.InferenceSession(out, providers=['CPUExecutionProvider']).run(None, {'image': x.numpy()})
    with torch.no_grad():
        assert np.abs(got - student(x)[-1].numpy()).max() < 1e-4
