"""OnlineEvalHook: k-NN top-1 and dense mIoU of the student while it trains, without changing the training."""
import importlib.util
import json
import os
import os.path as osp
import shutil
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.visualization import Visualizer
from PIL import Image

from mmpcd.apis import build_config, runner_from_config
from mmpcd.benchmarks.distillation import ProbeData, student_map
from mmpcd.engine import OnlineEvalError, OnlineEvalHook
from mmpcd.evaluation.dense_probe import fit_knn_readout, load_dense_split, score_predictions
from mmpcd.evaluation.knn import knn_top1
from mmpcd.evaluation.linear_probe import pooled_features
from mmselfsup.models import SelfSupDataPreprocessor
from mmselfsup.models.backbones import ResNet

from conftest import REPO, SMALL

MEAN, STD = (123.675, 116.28, 103.53), (58.395, 57.12, 57.375)


@pytest.fixture(scope='module')
def labelled_root(tmp_path_factory) -> str:
    """data/cifar10_mini with 3 train and 2 val images of each class."""
    root = tmp_path_factory.mktemp('cls')
    os.makedirs(root / 'meta')
    for split, per_class in (('train', 3), ('val', 2)):
        os.symlink(osp.join(REPO, 'data', 'cifar10_mini', split), root / split)
        with open(osp.join(REPO, 'data', 'cifar10_mini', 'meta', f'{split}.txt')) as f:
            lines = f.read().splitlines()
        kept = [line for line in lines if int(line.split('/')[1].split('.')[0]) < per_class]
        (root / 'meta' / f'{split}.txt').write_text('\n'.join(kept) + '\n')
    return str(root)


@pytest.fixture(scope='module')
def dense_root(tmp_path_factory) -> str:
    """data/pets_mini with 6 train and 3 val images."""
    root = tmp_path_factory.mktemp('dense')
    source = osp.join(REPO, 'data', 'pets_mini')
    (root / 'classes.txt').write_text(open(osp.join(source, 'classes.txt')).read())
    for split, count in (('train', 6), ('val', 3)):
        for folder in ('images', 'labels'):
            os.makedirs(root / split / folder)
        for name in sorted(os.listdir(osp.join(source, split, 'images')))[:count]:
            stem = osp.splitext(name)[0]
            os.symlink(osp.join(source, split, 'images', name), root / split / 'images' / name)
            os.symlink(osp.join(source, split, 'labels', stem + '.png'), root / split / 'labels' / f'{stem}.png')
    return str(root)


class Student(torch.nn.Module):
    """What the hook reads of a model: ``backbone`` and ``data_preprocessor``; a head the hook must not touch."""

    def __init__(self, bgr_to_rgb: bool = True) -> None:
        super().__init__()
        self.data_preprocessor = SelfSupDataPreprocessor(mean=MEAN, std=STD, bgr_to_rgb=bgr_to_rgb)
        self.backbone = ResNet(depth=18, out_indices=[4], norm_cfg=dict(type='BN'))
        self.head = torch.nn.BatchNorm1d(4)


def fake_runner(model: torch.nn.Module, work_dir: str, name: str, max_epochs: int = 3) -> SimpleNamespace:
    visualizer = Visualizer(name=name, vis_backends=[dict(type='LocalVisBackend')], save_dir=work_dir)
    return SimpleNamespace(model=model, work_dir=work_dir, epoch=0, max_epochs=max_epochs, message_hub=MessageHub(name),
                           visualizer=visualizer)


def expected_scores(model: Student, labelled_root: str, dense_root: str) -> dict:
    """Both scores written out with the benchmarks' loaders (RGB, the config's mean and std) on the eval-mode copy."""
    backbone = student_map(model)
    probe = ProbeData(labelled_root, 32, MEAN, STD)
    top1 = knn_top1(pooled_features(backbone, probe.train_x), probe.train_y, pooled_features(backbone, probe.val_x),
                    probe.val_y)
    train, val = (load_dense_split(dense_root, split, 64, MEAN, STD, 4) for split in ('train', 'val'))
    readout = fit_knn_readout(backbone(train.images), train.labels, 4)
    miou = score_predictions(readout.predict(backbone(val.images), [y.shape for y in val.labels]), val.labels, 4)
    return dict(knn_top1=top1, dense_knn_miou=miou['miou'])


def test_hook_measures_logs_and_leaves_training_alone(tmp_path, labelled_root, dense_root):
    torch.manual_seed(0)
    model = Student().train()
    model.head.eval()  # a module kept in eval mode by its model stays so
    runner = fake_runner(model, str(tmp_path), 'online-eval-unit')
    hook = OnlineEvalHook(data_root=labelled_root, image_size=32, dense_data_root=dense_root, dense_image_size=64,
                          interval=2, batch_size=7)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    rng = torch.get_rng_state()

    hook.before_train(runner)  # epoch 0: the initialisation
    for epoch in range(3):
        runner.epoch = epoch
        hook.after_train_epoch(runner)  # after epochs 2 (interval) and 3 (the last)

    assert torch.equal(torch.get_rng_state(), rng)  # no random number drawn
    assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items())  # no BN statistics updated
    assert model.training and model.backbone.training and model.backbone.bn1.training and not model.head.training
    results = json.loads((tmp_path / 'online_eval.json').read_text())
    assert list(results) == ['0', '2', '3']
    expected = expected_scores(model.eval(), labelled_root, dense_root)
    for values in results.values():
        assert values['knn_top1'] == pytest.approx(expected['knn_top1'])
        assert values['dense_knn_miou'] == pytest.approx(expected['dense_knn_miou'])
        assert values['seconds'] > 0
    assert runner.message_hub.get_scalar('online_eval/knn_top1').current() == pytest.approx(expected['knn_top1'])
    logged = [json.loads(line) for line in (tmp_path / 'vis_data' / 'scalars.json').read_text().splitlines()]
    assert [row['step'] for row in logged] == [0, 2, 3]
    assert set(logged[0]) == {'online_eval/knn_top1', 'online_eval/dense_knn_miou', 'step'}


class MeanColour(torch.nn.Module):
    """A backbone whose one-pixel "map" is each image's mean colour (normalized as the hook normalizes it)."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = torch.nn.Parameter(torch.ones(()))  # the hook reads the device of a parameter

    def forward(self, x: torch.Tensor) -> list:
        return [x.mean(dim=(2, 3), keepdim=True) * self.scale]


class ColourStudent(torch.nn.Module):
    """A model whose images reach the backbone as raw 0-255 RGB values (mean 0, std 1)."""

    def __init__(self) -> None:
        super().__init__()
        self.data_preprocessor = SelfSupDataPreprocessor(mean=(0, 0, 0), std=(1, 1, 1), bgr_to_rgb=True)
        self.backbone = MeanColour()


def solid(path, colour, size: int = 8) -> None:
    """A ``size`` x ``size`` PNG of one colour (lossless: its resize keeps the colour)."""
    Image.new('RGB', (size, size), colour).save(path)


def label_png(path, counts: dict, size: int = 8) -> None:
    """An 8 x 8 label PNG whose pixels, in raster order, hold ``counts[value]`` pixels of each value."""
    values = [value for value, count in counts.items() for _ in range(count)]
    assert len(values) == size * size
    Image.fromarray(np.array(values, dtype=np.uint8).reshape(size, size), mode='L').save(path)


RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)


@pytest.fixture
def hand_case(tmp_path) -> tuple:
    """Solid-colour images whose k-NN top-1 and dense mIoU are worked out by hand in the test below."""
    cls = tmp_path / 'cls'
    for split in ('train', 'val'):
        os.makedirs(cls / split)
    os.makedirs(cls / 'meta')
    # train bank: A red (class 0); B1 green, B2 blue (class 1)
    for name, colour in (('a', RED), ('b1', GREEN), ('b2', BLUE)):
        solid(cls / 'train' / f'{name}.png', colour)
    (cls / 'meta' / 'train.txt').write_text('a.png 0\nb1.png 1\nb2.png 1\n')
    # val: q1 = (200, 100, 100), class 1; q2 red, class 0; q3 blue, class 0
    for name, colour in (('q1', (200, 100, 100)), ('q2', RED), ('q3', BLUE)):
        solid(cls / 'val' / f'{name}.png', colour)
    (cls / 'meta' / 'val.txt').write_text('q1.png 1\nq2.png 0\nq3.png 0\n')

    dense = tmp_path / 'dense'
    for split in ('train', 'val'):
        for folder in ('images', 'labels'):
            os.makedirs(dense / split / folder)
    (dense / 'classes.txt').write_text('background\ncat\ndog\n')
    train = dict(t1=(RED, {1: 48, 0: 16}), t2=(RED, {2: 32, 255: 32}), t3=(BLUE, {0: 64}))
    val = dict(v1=(RED, {2: 40, 1: 16, 255: 8}), v2=(BLUE, {0: 48, 1: 16}))
    for split, images in (('train', train), ('val', val)):
        for name, (colour, counts) in images.items():
            solid(dense / split / 'images' / f'{name}.png', colour)
            label_png(dense / split / 'labels' / f'{name}.png', counts)
    return str(cls), str(dense)


def test_scores_against_values_worked_out_by_hand(tmp_path, hand_case):
    """The hook's k-NN top-1 and dense k-NN mIoU on images whose features (their mean colours) and neighbours can
    be worked out on paper; no library function computes the expected values.

    k-NN top-1, cosine between mean colours. Bank: A = red (class 0), B1 = green, B2 = blue (class 1).

    - q1 = (200, 100, 100) ~ (2, 1, 1), label 1: cos(q1, A) = 2/sqrt(6) = 0.8165, cos(q1, B1) = cos(q1, B2) =
      1/sqrt(6) = 0.4082. With k = 3, T = 1: class 0 gets e^0.8165 = 2.263, class 1 gets 2 e^0.4082 = 3.008 -> 1
      (right). With DINO's k = 20 (all three), T = 0.07: class 0 e^11.66 = 1.2e5, class 1 2 e^5.83 = 680 -> 0.
    - q2 = red, label 0: cos 1 with A, 0 with B1 and B2. T = 1: e^1 = 2.718 against 2 e^0 = 2 -> 0 (right);
      T = 0.07: e^14.3 against 2 -> 0 (right).
    - q3 = blue, label 0: cos 1 with B2 only. T = 1: class 0 e^0 = 1, class 1 e^0 + e^1 = 3.718 -> 1 (wrong);
      T = 0.07: 1 against 1 + e^14.3 -> 1 (wrong).

    So top-1 = 2/3 = 66.67 % at k = 3, T = 1, and 1/3 = 33.33 % at k = 20, T = 0.07.

    Dense k-NN mIoU (classes background 0, cat 1, dog 2; 8 x 8 solid images, so each map is one patch, upsampled to
    a constant). Bank, the label shares among each image's labelled pixels (255 left out):
    t1 red [16, 48, 0] / 64 = [0.25, 0.75, 0]; t2 red [0, 0, 32] / 32 = [0, 0, 1]; t3 blue [1, 0, 0].

    - v1 red: cos 1 with t1 and t2, 0 with t3; softmax(cos / 0.02) gives t1 and t2 e^50 / (2 e^50 + 1) = 0.5 each
      (t3 e^-50, 2e-22): [0.125, 0.375, 0.5] -> dog for all its pixels: 40 dog (right), 16 cat (wrong), 8 ignored.
    - v2 blue: t3 alone -> [1, 0, 0], background: 48 background (right), 16 cat (wrong).

    IoU background = 48 / (48 + 16) = 0.75; cat = 0 / 32 = 0; dog = 40 / (40 + 16) = 0.714286;
    mIoU = (0.75 + 0 + 0.714286) / 3 = 48.81 %.
    """
    cls, dense = hand_case
    runner = fake_runner(ColourStudent(), str(tmp_path), 'online-eval-hand')
    hook = OnlineEvalHook(data_root=cls, image_size=8, dense_data_root=dense, dense_image_size=8, neighbours=3,
                          temperature=1.0, at_start=False)
    values = hook.evaluate(runner, 1)
    assert values['knn_top1'] == pytest.approx(100 * 2 / 3)
    assert values['dense_knn_miou'] == pytest.approx(100 * (0.75 + 0 + 40 / 56) / 3)
    dino = OnlineEvalHook(data_root=cls, image_size=8, at_start=False)  # k = 20, T = 0.07
    assert dino.evaluate(fake_runner(ColourStudent(), str(tmp_path), 'online-eval-hand-dino'),
                         1)['knn_top1'] == pytest.approx(100 / 3)


def test_resumed_run_keeps_the_earlier_epochs(tmp_path, labelled_root):
    (tmp_path / 'online_eval.json').write_text(
        json.dumps({'0': {'knn_top1': 1.0}, '1': {'knn_top1': 2.0}, '2': {'knn_top1': 3.0}}))
    runner = fake_runner(Student(), str(tmp_path), 'online-eval-resume')
    runner.epoch = 1  # resumed after epoch 1: epoch 2 of the interrupted run is measured again
    hook = OnlineEvalHook(data_root=labelled_root, image_size=32)
    hook.before_train(runner)
    hook.after_train_epoch(runner)
    results = json.loads((tmp_path / 'online_eval.json').read_text())
    assert list(results) == ['0', '1', '2'] and results['1'] == {'knn_top1': 2.0}
    assert results['2']['knn_top1'] != 3.0


def test_bgr_model_sees_bgr_images(tmp_path, labelled_root):
    """Without bgr_to_rgb the model is fed the loader's BGR and its mean and std are in BGR order."""
    model = Student(bgr_to_rgb=False)
    runner = fake_runner(model, str(tmp_path), 'online-eval-bgr')
    hook = OnlineEvalHook(data_root=labelled_root, image_size=32, at_start=False)
    hook.evaluate(runner, 1)
    rgb = ProbeData(labelled_root, 32, MEAN[::-1], STD[::-1])  # the preprocessor's mean is in BGR order here
    assert torch.equal(hook._labelled[0], rgb.train_x.flip(1))


def test_needs_some_data():
    with pytest.raises(ValueError, match='data_root'):
        OnlineEvalHook()


@pytest.mark.parametrize('problem, error, message', [
    ('wrong root', FileNotFoundError, 'labelled image list {root}/meta/train.txt does not exist'),
    ('no val.txt', FileNotFoundError, 'labelled image list {root}/meta/val.txt does not exist'),
    ('empty train.txt', ValueError, r'labelled image list {root}/meta/train.txt names no image \(it is empty or '
     r'blank\): write one "relative/path label" line per image of {root}/train'),
    ('no dense labels', FileNotFoundError, 'image {dense}/val/images/.* has no label: expected {dense}/val/labels/'),
])
def test_every_file_is_read_before_the_first_step(tmp_path, labelled_root, dense_root, problem, error, message):
    """With at_start=False the hook read nothing before the first evaluation, after a whole interval of training,
    and then crashed before the epoch's checkpoint (issue 33 item 4); an empty list failed with numpy's "need at
    least one array to stack". Now before_train reads every list, image and label, and names the file."""
    root, dense = tmp_path / 'cls', tmp_path / 'dense'
    shutil.copytree(labelled_root, root, symlinks=True)
    shutil.copytree(dense_root, dense, symlinks=True)
    if problem == 'wrong root':
        shutil.rmtree(root / 'meta')
    elif problem == 'no val.txt':
        os.remove(root / 'meta' / 'val.txt')
    elif problem == 'empty train.txt':
        (root / 'meta' / 'train.txt').write_text('\n')
    else:
        os.remove(sorted((dense / 'val' / 'labels').iterdir())[0])
    hook = OnlineEvalHook(data_root=str(root), image_size=32, dense_data_root=str(dense), dense_image_size=64,
                          at_start=False)
    with pytest.raises(error, match=message.format(root=root, dense=dense)):
        hook.before_train(fake_runner(Student(), str(tmp_path), f'online-eval-{problem}'))


def hook_config(tmp_path, **hook) -> str:
    """The demo with the hook (k-NN at 32 px, after every epoch) in a config file."""
    config = tmp_path / 'with_online_eval.py'
    config.write_text(f"_base_ = '{osp.join(REPO, 'configs', 'pcd_r18_demo.py')}'\n"
                      f'custom_hooks = [*_base_.custom_hooks, dict(type="OnlineEvalHook", image_size=32, '
                      f'at_start=False, {", ".join(f"{k}={v!r}" for k, v in hook.items())})]\n')
    return str(config)


def test_a_wrong_data_root_stops_the_run_before_the_first_step(tmp_path):
    runner = runner_from_config(
        build_config(hook_config(tmp_path, data_root=str(tmp_path / 'nowhere')), work_dir=str(tmp_path / 'w'),
                     cfg_options=SMALL))
    with pytest.raises(FileNotFoundError, match=f'labelled image list {tmp_path}/nowhere/meta/train.txt'):
        runner.train()
    assert runner.iter == 0


def test_a_failed_evaluation_costs_no_training(tmp_path, labelled_root):
    """An evaluation that fails after an epoch (here its scoring raises) is logged, the epoch's checkpoint is saved
    and the run ends with OnlineEvalError naming the epoch; before, the error left the epoch without its checkpoint."""
    runner = runner_from_config(
        build_config(hook_config(tmp_path, data_root=labelled_root), work_dir=str(tmp_path / 'w'), cfg_options=SMALL))
    (hook, ) = [hook for hook in runner.hooks if isinstance(hook, OnlineEvalHook)]

    def fails(feature_map):
        raise RuntimeError('out of memory (made up)')

    hook._scores = fails
    with pytest.raises(
            OnlineEvalError, match=r'OnlineEvalHook: 1 online evaluations failed \(after epoch 1: RuntimeError: out of '
            r'memory \(made up\)\)\. Training went on and its checkpoints are saved in'):
        runner.train()
    assert runner.iter == 6 and (tmp_path / 'w' / 'epoch_1.pth').exists()


def train(work_dir, config: str) -> None:
    """A 1-epoch run of tools/train.py (6 iterations of 4 images), every iteration logged."""
    options = [
        'train_dataloader.batch_size=4', 'train_dataloader.num_workers=0',
        'train_dataloader.dataset.pipeline.1.transforms.0.0.size=64',
        'train_dataloader.dataset.pipeline.1.transforms.1.0.size=64', 'model.head.queue_len=128',
        'train_cfg.max_epochs=1', 'default_hooks.logger.interval=1'
    ]
    cmd = [sys.executable, 'tools/train.py', config, '--work-dir', str(work_dir), '--cfg-options', *options]
    out = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-5000:]


def run_scalars(work_dir) -> list:
    (log, ) = work_dir.glob('*/vis_data/scalars.json')
    return [json.loads(line) for line in log.read_text().splitlines()]


@pytest.mark.slow
def test_train_tool_with_the_hook(tmp_path, labelled_root, dense_root):
    """The hook in a config, through tools/train.py: online_eval.json and the json log hold both scores, and the
    losses and the trained weights are those of the same run without the hook."""
    config = tmp_path / 'with_online_eval.py'
    config.write_text(f"_base_ = '{osp.join(REPO, 'configs', 'pcd_r18_demo.py')}'\n"
                      'custom_hooks = [*_base_.custom_hooks, dict(type="OnlineEvalHook", '
                      f'data_root="{labelled_root}", image_size=32, dense_data_root="{dense_root}", '
                      'dense_image_size=64)]\n')
    train(tmp_path / 'with', str(config))
    train(tmp_path / 'without', 'configs/pcd_r18_demo.py')

    results = json.loads((tmp_path / 'with' / 'online_eval.json').read_text())
    assert list(results) == ['0', '1'] and all(0 <= v['knn_top1'] <= 100 for v in results.values())
    assert all(0 < v['dense_knn_miou'] <= 100 for v in results.values())
    with_hook, without = run_scalars(tmp_path / 'with'), run_scalars(tmp_path / 'without')
    logged = [row for row in with_hook if 'online_eval/knn_top1' in row]
    assert [(row['step'], row['online_eval/knn_top1'], row['online_eval/dense_knn_miou'])
            for row in logged] == [(int(e), v['knn_top1'], v['dense_knn_miou']) for e, v in results.items()]
    losses = [row['loss'] for row in with_hook if 'loss' in row]
    assert len(losses) == 6 and losses == [row['loss'] for row in without if 'loss' in row]
    trained = [
        torch.load(tmp_path / run / 'epoch_1.pth', weights_only=True)['state_dict'] for run in ('with', 'without')
    ]
    assert all(torch.equal(v, trained[1][k]) for k, v in trained[0].items())


def test_plot_tool_draws_the_scores_in_epoch_order(tmp_path):
    for name, offset in (('a', 0.0), ('b', 5.0)):
        os.makedirs(tmp_path / name)
        results = {str(e): dict(knn_top1=20.0 + e + offset, seconds=1.0) for e in (0, 3, 12)}
        (tmp_path / name / 'online_eval.json').write_text(json.dumps(results))
    spec = importlib.util.spec_from_file_location('plot_online_eval',
                                                  osp.join(REPO, 'tools', 'analysis_tools', 'plot_online_eval.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    out = tmp_path / 'curve.png'
    runs = tool.main([str(tmp_path / 'a'), str(tmp_path / 'b'), '--out', str(out)])
    assert list(runs['a']) == [0, 3, 12] and runs['b'][12]['knn_top1'] == 37.0
    assert out.read_bytes()[:4] == b'\x89PNG'
