"""The analysis tools (tools/analysis_tools/{erf,feature_maps,embeddings,plot_curves,mhsa_stats}.py) on shipped
data, small.

Each tool runs end to end (its ``main``) and writes a PNG of the expected panels; the numbers it prints hold the
properties they measure: an ERF's support is the theoretical receptive field of a conv stack and the whole input
once an MHSA is added; PCA shares are variance fractions; the probe top-1 in a t-SNE title is the probe's;
curves are the logged values of a real mmengine run.
"""
import importlib.util
import json
import math
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from mmpcd.analysis import (effective_receptive_field, list_images, load_model, load_raw_images, mass_centre,
                            mass_radius, pca, rankme, read_training_log, support)
from mmpcd.benchmarks.distillation_figures import last_checkpoint
from mmpcd.datasets.image_lists import read_labelled_list
from mmpcd.evaluation import linear_probe, pooled_features
from mmpcd.models.necks.pixel_mhsa import PixelMHSA
from mmpcd.visualization import embed_2d, pca_rgb
from mmpcd.visualization.figure import PANEL_PX

from conftest import REPO

CPU_CONFIG = osp.join(REPO, 'configs', 'pcd', 'cpu', 'pcd_resnet18-effnetlite0_1xb32-lars-15e_cifar10-mini.py')
COCO_VAL = osp.join(REPO, 'data', 'coco_mini', 'val')


def tool(name: str):
    """The ``main`` of ``tools/analysis_tools/<name>.py``."""
    spec = importlib.util.spec_from_file_location(name, osp.join(REPO, 'tools', 'analysis_tools', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def conv_stack(depth: int, channels: int = 4) -> nn.Module:
    torch.manual_seed(depth)
    layers = [nn.Conv2d(3 if i == 0 else channels, channels, 3, padding=1) for i in range(depth)]
    return nn.Sequential(*layers).eval()


@pytest.mark.parametrize('depth', [1, 2, 3])
def test_erf_support_of_a_conv_stack_is_its_receptive_field(depth):
    """k stacked 3x3 convs: the centre unit sees exactly the (2k+1)^2 square around it, and nothing else."""
    images = torch.randn(3, 3, 15, 15, generator=torch.Generator().manual_seed(0))
    erf = effective_receptive_field(conv_stack(depth), images)
    expected = torch.zeros(15, 15, dtype=torch.bool)
    expected[7 - depth:8 + depth, 7 - depth:8 + depth] = True
    assert torch.equal(support(erf), expected)
    assert support(erf).sum() == (2 * depth + 1)**2
    assert mass_centre(erf) == (7, 7)
    assert mass_radius(erf, 1.0) == depth
    assert mass_radius(erf, 0.5) <= mass_radius(erf, 0.9) <= depth


def test_mhsa_spreads_the_erf_over_the_whole_input():
    """A 3x3 conv alone sees 3x3 pixels; the same conv followed by the MHSA gives every input pixel a gradient."""
    conv = conv_stack(1, channels=8)
    torch.manual_seed(0)
    with_mhsa = nn.Sequential(conv, PixelMHSA(in_channels=8, num_heads=2, head_channels=4)).eval()
    images = torch.randn(2, 3, 9, 9, generator=torch.Generator().manual_seed(1))
    assert support(effective_receptive_field(conv, images)).sum() == 9
    assert support(effective_receptive_field(with_mhsa, images)).all()


def test_mass_radius_of_known_maps():
    delta = torch.zeros(11, 11)
    delta[4, 6] = 2.0
    assert mass_centre(delta) == (4, 6) and mass_radius(delta, 0.5) == mass_radius(delta, 1.0) == 0
    square = torch.zeros(11, 11)
    square[3:8, 3:8] = 1.0  # 25 equal pixels: 9 (36%) within radius 1, all 25 within radius 2
    assert mass_radius(square, 0.36) == 1 and mass_radius(square, 0.37) == 2 and mass_radius(square, 1.0) == 2
    with pytest.raises(ValueError, match='no gradient mass'):
        mass_radius(torch.zeros(3, 3), 0.5)
    with pytest.raises(ValueError, match=r'fraction must be in \(0, 1\]'):
        mass_radius(square, 0.0)


def test_pca_matches_the_covariance_eigendecomposition():
    x = torch.randn(200, 6, generator=torch.Generator().manual_seed(0)) * torch.tensor([5., 3., 2., 1., .5, .1])
    projection, explained = pca(x, 3)
    eigenvalues = torch.linalg.eigvalsh(torch.cov(x.double().T)).flip(0)
    assert torch.allclose(explained, eigenvalues[:3] / eigenvalues.sum())
    assert torch.allclose(projection.var(dim=0), eigenvalues[:3])  # the variance along each component
    assert torch.allclose(projection.T @ projection, torch.diag((projection**2).sum(0)), atol=1e-8)  # uncorrelated


def rankme_reference(z: np.ndarray, eps: float = 1e-7) -> float:
    """RankMe's eq. (1) written out: singular values as the square roots of the eigenvalues of Z^T Z, in numpy."""
    sigma = np.sqrt(np.clip(np.linalg.eigvalsh(z.T.astype(np.float64) @ z), 0, None))[::-1][:min(z.shape)]
    p = sigma / sigma.sum() + eps
    return float(np.exp(-sum(pk * math.log(pk) for pk in p)))


def test_rankme_is_the_papers_effective_rank():
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(300, 20, generator=gen) * torch.linspace(0.1, 3, 20)
    assert rankme(z) == pytest.approx(rankme_reference(z.numpy()), rel=1e-6)
    assert rankme(7 * z) == pytest.approx(rankme(z), rel=1e-9)  # scale-free
    q, _ = torch.linalg.qr(torch.randn(300, 20, generator=gen))
    assert rankme(q) == pytest.approx(20, rel=1e-4)  # equal singular values: the rank
    assert rankme(q[:, :5] @ torch.randn(5, 20, generator=gen)) < 5 + 1e-3  # at most the rank
    collapsed = torch.randn(300, 1, generator=gen) @ torch.randn(1, 20, generator=gen)
    assert rankme(collapsed + 1e-4 * torch.randn(300, 20, generator=gen)) < 1.05  # one line: about 1


def test_pca_rgb_colours_pixels_by_their_principal_components():
    gen = torch.Generator().manual_seed(0)
    maps = torch.randn(2, 16, 5, 5, generator=gen)
    rgb, explained = pca_rgb(maps)
    assert rgb.shape == (2, 5, 5, 3) and rgb.min() == 0 and rgb.max() == 1
    assert all(rgb[..., c].min() == 0 and rgb[..., c].max() == 1 for c in range(3))  # each component min-max scaled
    assert (explained[:-1] >= explained[1:]).all() and explained.sum() <= 1


@pytest.mark.parametrize('method', ['tsne', 'pca'])
def test_embedding_keeps_separable_classes_apart(method):
    """Well-separated classes in 64-D stay separated in 2-D: each point's nearest neighbour shares its class."""
    gen = torch.Generator().manual_seed(0)
    labels = torch.arange(90) % 3
    features = 10 * torch.randn(3, 64, generator=gen)[labels] + torch.randn(90, 64, generator=gen)
    xy = embed_2d(features, method)
    distances = np.linalg.norm(xy[:, None] - xy[None], axis=2) + np.eye(90) * 1e9
    assert xy.shape == (90, 2) and (labels.numpy()[distances.argmin(1)] == labels.numpy()).all()


def png_size(path) -> tuple:
    with Image.open(path) as image:
        return image.size


def test_erf_tool(tmp_path, capsys):
    """A torchvision model, a PCD config's backbone and its student output (φ + MHSA), on 2 shipped images."""
    out = tmp_path / 'erf.png'
    numbers = tool('erf')([
        '--images', COCO_VAL, '--num-images', '2', '--size', '64', '--model', 'R18', 'torchvision:resnet18', '--model',
        'PCD R18', CPU_CONFIG, '--model', 'PCD R18 + MHSA', CPU_CONFIG, '--target', 'backbone', 'backbone', 'student',
        '--out',
        str(out)
    ])
    assert png_size(out) == (3 * PANEL_PX, PANEL_PX)
    printed = capsys.readouterr().out
    for title in ('R18', 'PCD R18', 'PCD R18 + MHSA (student)'):
        n = numbers[title]
        assert n['map'] == (2, 2) and 0 <= n['radius'][0.5] <= n['radius'][0.9] < 64
        assert f'{title}: map 2x2' in printed and f'r50 = {n["radius"][0.5]} px' in printed
    assert numbers['PCD R18 + MHSA (student)']['support'] == 1.0  # every input pixel


def test_feature_maps_tool(tmp_path, capsys):
    out = tmp_path / 'maps.png'
    explained = tool('feature_maps')([
        '--images', COCO_VAL, '--num-images', '3', '--size', '96', '--model', 'R18', 'torchvision:resnet18', '--model',
        'PCD', CPU_CONFIG, '--out',
        str(out)
    ])
    assert png_size(out) == ((1 + 2 * 2) * PANEL_PX, 3 * PANEL_PX)  # image + (mean, PCA) per model; a row an image
    printed = capsys.readouterr().out
    for label, shares in explained.items():
        assert (shares > 0).all() and (shares[:-1] >= shares[1:]).all() and shares.sum() <= 1
        assert f'(together {100 * shares.sum():.1f}%)' in printed
    with pytest.raises(FileNotFoundError, match='image source .*nowhere does not exist'):
        list_images([str(tmp_path / 'nowhere')])


@pytest.fixture
def one_thread():
    """torch on one thread: the probe's L-BFGS is many tiny ops, which extra threads slow down on a busy CPU."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_embeddings_tool_titles_carry_the_probe_top1_and_rankme(tmp_path, capsys, one_thread):
    """A small labelled subset of data/cifar10_mini (10 train, 4 val images a class)."""
    cifar = osp.join(REPO, 'data', 'cifar10_mini')
    (tmp_path / 'meta').mkdir()
    for split, per_class in (('train', 10), ('val', 4)):
        os.symlink(osp.join(cifar, split), tmp_path / split)
        lines = open(osp.join(cifar, 'meta', f'{split}.txt')).read().split('\n')
        chosen = [line for line in lines if line and int(osp.basename(line.split()[0])[:4]) < per_class]
        (tmp_path / 'meta' / f'{split}.txt').write_text('\n'.join(chosen) + '\n')
    out = tmp_path / 'tsne.png'
    numbers = tool('embeddings')(
        ['--data', str(tmp_path), '--size', '32', '--model', 'R18', 'torchvision:resnet18', '--out',
         str(out)])
    assert png_size(out) == (PANEL_PX, PANEL_PX)
    printed = capsys.readouterr().out
    model = load_model('R18', 'torchvision:resnet18')  # seed 0, as the tool
    features = {}
    for split in ('train', 'val'):
        paths, labels = read_labelled_list(str(tmp_path / 'meta' / f'{split}.txt'), str(tmp_path / split))
        features[split] = pooled_features(model.map('backbone'), model.normalize(load_raw_images(paths, 32))), labels
    assert len(features['train'][1]) == 100 and len(features['val'][1]) == 40
    assert numbers['R18']['top1'] == linear_probe(*features['train'], *features['val'])[0]
    assert numbers['R18']['rankme'] == rankme(features['val'][0]) and numbers['R18']['dims'] == 512
    assert (f'R18: linear-probe top-1 {numbers["R18"]["top1"]:.1f}%, RankMe {numbers["R18"]["rankme"]:.1f} of 512 '
            'dimensions') in printed


#: A real mmengine training run (logged every iteration) of loss = (w x)^2 with w = 3 and x = 1: the logged loss
#: starts at 9. In its own process: a Runner leaves global state (default scope, logger, visualizer) behind.
TOY_RUN = """
import sys
import torch
from mmengine.config import Config
from mmengine.model import BaseModel
from mmengine.runner import Runner


class ToyModel(BaseModel):
    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.tensor(3.0))

    def forward(self, inputs, data_samples=None, mode='loss'):
        return dict(loss=(self.w * inputs).pow(2).mean())


Runner(model=ToyModel(), work_dir=sys.argv[1], experiment_name='toy',
       train_dataloader=dict(dataset=[dict(inputs=torch.ones(1))] * 4, batch_size=2,
                             collate_fn=dict(type='default_collate'),
                             sampler=dict(type='DefaultSampler', shuffle=False)),
       optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.05)), train_cfg=dict(by_epoch=True, max_epochs=3),
       default_hooks=dict(logger=dict(type='LoggerHook', interval=1)),
       cfg=Config(dict(model=dict(head=dict(queue_len=7))))).train()
"""


def test_plot_curves_tool_reads_a_real_mmengine_run(tmp_path, capsys):
    work_dir = tmp_path / 'toy'
    done = subprocess.run([sys.executable, '-c', TOY_RUN, str(work_dir)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    series = read_training_log(str(work_dir))
    assert series['iter'] == [1, 2, 3, 4, 5, 6] and series['epoch'] == [1, 1, 2, 2, 3, 3]
    assert series['loss'][0] == pytest.approx(9.0) and series['lr'] == [0.05] * 6
    assert all(a > b for a, b in zip(series['loss'], series['loss'][1:]))  # plain SGD on a quadratic
    out = tmp_path / 'curves.png'
    runs = tool('plot_curves')([str(work_dir), '--out', str(out)])
    assert runs == {'toy': [series]}
    assert png_size(out) == (7 * 120, int((1.2 + 3 * 2) * 120))  # two panels: loss and lr
    printed = capsys.readouterr().out
    assert f'loss 9.000 -> {series["loss"][-1]:.3f} (chance log(8) = {math.log(8):.3f})' in printed  # K from config
    log = next(work_dir.glob('*/vis_data/*.json'))
    assert json.loads(log.read_text().splitlines()[0])['loss'] == series['loss'][0]
    with pytest.raises(FileNotFoundError, match='holds no mmengine json log'):
        read_training_log(str(tmp_path))


def test_the_teacher_map_is_each_algorithms_teacher():
    """PCD's frozen teacher, DINO's EMA teacher (the student's copy after the first EMA step, which copies, as the
    first train step does; it does not follow the student's weights between steps), OSS's online ResNet-50 teacher."""
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    pcd = load_model('PCD', CPU_CONFIG)
    assert torch.equal(pcd.map('teacher')(x), pcd.module.teacher.backbone_map(x))
    dino = load_model('DINO', osp.join(REPO, 'configs', 'dino', 'cpu', 'dino_resnet18_1xb32-lars-15e_cifar10-mini.py'))
    with torch.no_grad():
        dino.module.teacher.update_parameters(nn.Sequential(dino.module.backbone, dino.module.neck))
        teacher = dino.map('teacher')(x)
        assert torch.equal(teacher, dino.map('backbone')(x))
        for parameter in dino.module.backbone.parameters():
            parameter.add_(0.1)
        assert torch.equal(dino.map('teacher')(x), teacher) and not torch.allclose(dino.map('backbone')(x), teacher)
    oss = load_model('OSS', osp.join(REPO, 'configs', 'oss', 'cpu', 'oss_resnet18-r50_1xb32-lars-15e_cifar10-mini.py'))
    assert oss.map('teacher')(x).shape[1] == 2048 and oss.map('backbone')(x).shape[1] == 512
    with pytest.raises(KeyError, match="R18: no map 'teacher'; this model has \\['backbone'\\]"):
        load_model('R18', 'torchvision:resnet18').map('teacher')


def test_bad_model_sources_and_runs_are_named(tmp_path):
    with pytest.raises(ValueError, match="model source 'resnet18' is not a config"):
        load_model('x', 'resnet18')
    with pytest.raises(FileNotFoundError, match='x: checkpoint .*missing.pth does not exist'):
        load_model('x', 'torchvision:resnet18', str(tmp_path / 'missing.pth'))
    with pytest.raises(KeyError, match=r"no map 'student'; this model has \['backbone'\]"):
        load_model('x', 'torchvision:resnet18').map('student')
    with pytest.raises(FileNotFoundError, match='holds no finished run'):
        last_checkpoint(str(tmp_path))
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_15.pth'))
    with pytest.raises(FileNotFoundError, match='epoch_15.pth, which does not exist'):
        last_checkpoint(str(tmp_path))
    # a run dir moved since mmengine wrote the absolute path: the file of that name in the run dir
    (tmp_path / 'last_checkpoint').write_text('/elsewhere/run/epoch_15.pth')
    (tmp_path / 'epoch_15.pth').write_bytes(b'')
    assert last_checkpoint(str(tmp_path)) == str(tmp_path / 'epoch_15.pth')


@pytest.mark.parametrize('to', ['torchvision', 'mmdet'])
def test_the_projects_own_export_loads_into_torchvision(tmp_path, monkeypatch, to):
    """A real export (export_student.py, run here) of a ResNet-18 student: the analysis tools load it into
    torchvision:resnet18 (it has no fc: before, ``fc.weight`` missing) and its map is the student's."""
    import runpy

    from mmselfsup.registry import MODELS
    torch.manual_seed(0)
    student = MODELS.build(dict(type='ResNet', depth=18, out_indices=[4]))
    training, exported = str(tmp_path / 'epoch_1.pth'), str(tmp_path / 'student.pth')
    torch.save(dict(meta=dict(epoch=1), state_dict={f'backbone.{k}': v
                                                    for k, v in student.state_dict().items()}), training)
    monkeypatch.setattr(sys, 'argv', ['export_student.py', training, exported, '--to', to])
    runpy.run_path(osp.join(REPO, 'tools', 'model_converters', 'export_student.py'), run_name='__main__')
    inputs = torch.randn(2, 3, 64, 64)
    model = load_model('export', 'torchvision:resnet18', exported)
    student.eval()
    with torch.no_grad():
        torch.testing.assert_close(model.map('backbone')(inputs), student(inputs)[-1])
    explained = tool('feature_maps')([
        '--images', COCO_VAL, '--num-images', '1', '--size', '64', '--model', 'PCD export', 'torchvision:resnet18',
        exported, '--out',
        str(tmp_path / 'maps.png')
    ])
    assert set(explained) == {'PCD export'}


def test_a_checkpoint_of_another_network_is_named(tmp_path):
    from mmpcd.models.utils import CheckpointMismatchError
    path = str(tmp_path / 'linear.pth')
    torch.save(nn.Linear(2, 2).state_dict(), path)
    with pytest.raises(
            CheckpointMismatchError,
            match=r'checkpoint \S+linear.pth does not match the model: expected the state dict '
            r'of torchvision:resnet18.[\s\S]*unexpected keys \(2\): bias, weight'):
        load_model('x', 'torchvision:resnet18', path)


@pytest.mark.parametrize('name, argv, message', [
    ('erf', ['--size', '0'], 'argument --size: the input resolution (pixels, square) must be a whole number >= 1, '
     "not '0'"),
    ('feature_maps', ['--num-images', '-3'], 'argument --num-images: the number of images (0: all) must be a whole '
     "number >= 0, not '-3'"),
    ('embeddings', ['--size', '2.5'], 'argument --size: the input resolution (pixels, square) must be a whole number'),
])
def test_sizes_and_counts_are_checked_by_flag(capsys, name, argv, message):
    with pytest.raises(SystemExit) as stop:
        tool(name)(['--model', 'R18', 'torchvision:resnet18', *argv])
    assert stop.value.code == 2 and message in capsys.readouterr().err


DENSE_CONFIG = osp.join(REPO, 'configs', 'pcd', 'dense_cpu', 'pcd_resnet18-effnetlite0_1xb32-lars-20e_pets-mini.py')


@pytest.mark.parametrize('images', ['data/pets_mini/val/images', 'val', 'data/coco_mini/val2017'])
def test_mhsa_stats_refuses_val_images(images):
    """mhsa_stats.py: its numbers may choose the default MHSA form, so a val split (a path component starting with
    val) is refused before anything is built."""
    with pytest.raises(SystemExit, match='use train images'):
        tool('mhsa_stats')([DENSE_CONFIG, '--images', images])


def test_mhsa_stats_prints_the_numbers(tmp_path, capsys):
    """mhsa_stats.py on 4 pets_mini train images: the 8 heads' entropies against log 16, both maps' numbers, the
    gradient cosine, and the json."""
    out = tmp_path / 'stats.json'
    stats = tool('mhsa_stats')([
        DENSE_CONFIG, '--images',
        osp.join(REPO, 'data', 'pets_mini', 'train', 'images'), '--num-images', '4', '--json',
        str(out)
    ])
    printed = capsys.readouterr().out
    assert 'uniform maximum log(16) = 2.773' in printed and 'after the MHSA' in printed
    assert 'gradient cosine' in printed
    assert out.is_file() and len(stats['entropy']) == 8
