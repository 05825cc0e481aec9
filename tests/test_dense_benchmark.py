"""The CPU dense benchmark: its rows' configs, its table, its cache, and a quick real run in which PCD learns."""
import copy
import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper

from mmpcd.benchmarks import dense as bench
from mmselfsup.registry import MODELS

from conftest import QUICK_DENSE_PCD, REPO

#: mIoU points by which the quick PCD student must beat its random init, per readout: above the seed noise of the
#: random init and of the quick gain (docs/dense_benchmark.md).
QUICK_MARGIN = dict(linear=3.0, knn=3.0)

#: What each row changes of PCD's model, as its config's comment says: the parts of the built model (``model``: the
#: algorithm's own class; ``model.KEY``: one of its settings; ``teacher.neck``: the SpatialAdaptor) whose modules,
#: parameters, buffers, optimiser settings or config differ from PCD's. Every other part, and the optimiser, must be
#: PCD's.
ROW_CHANGES = {
    'PCD': set(),
    'image-level PCD': {'head'},  # Table 2: both maps pooled before the loss
    # SEED's projection and loss in place of φ, MHSA and the pixel loss (with its pairing options)
    'SEED': {'model', 'neck', 'head', 'attention', 'model.symmetric', 'model.cross_view'},
    'PCD w/o MHSA': {'attention'},  # Table 4
    'PCD without SpatialAdaptor': {'teacher.neck', 'neck', 'attention', 'head'},  # Table 3 (a): as wide as 1280
    # DisCo's student (its projection, momentum encoder, queue and loss) in place of φ, MHSA and the pixel loss
    'DisCo': {'model', 'neck', 'head', 'attention', 'queue', 'encoder_k', 'model.symmetric', 'model.cross_view'},
    'PCD with residual MHSA': {'attention'},  # PixelMHSA(residual=True): its settings only, the same parameters
    'PCD with residual MHSA from identity': {'attention'},  # PixelMHSA(residual=True, zero_init_proj=True)
    'PCD with extra pred.': {'attention'},  # Table 4: a prediction head in place of the MHSA
    'PCD at 64 px': set(),  # the crops only
    'image-level PCD at 64 px': {'head'},
}


def part_of(name: str) -> str:
    """The part of the model a module, parameter or buffer name belongs to (``teacher.neck`` apart)."""
    parts = name.split('.')
    return '.'.join(parts[:2]) if parts[0] == 'teacher' else parts[0]


def model_signature(cfg: Config) -> dict:
    """What the built model and its built optimiser are, by part: each module's type, each parameter's shape,
    whether it trains and its optimiser settings, each buffer's shape, each key of the model's config (with its
    module's part; ``model.KEY`` for a setting of the algorithm); ``model``: the algorithm's class and type, and the
    optimiser's (and its wrapper's) type and defaults."""
    with torch.random.fork_rng():
        model = MODELS.build(cfg.model)
    optimizer = build_optim_wrapper(model, copy.deepcopy(cfg.optim_wrapper))
    settings = {
        id(param): {key: value
                    for key, value in group.items() if key != 'params'}
        for group in optimizer.optimizer.param_groups
        for param in group['params']
    }
    signature = defaultdict(dict)
    signature['model']['class'] = type(model).__name__
    signature['model']['optimizer'] = (type(optimizer).__name__, type(optimizer.optimizer).__name__,
                                       optimizer.optimizer.defaults)
    for name, module in model.named_modules():
        if name:
            signature[part_of(name)][f'module {name}'] = type(module).__name__
    for name, param in model.named_parameters():
        signature[part_of(name)][f'param {name}'] = (tuple(param.shape), param.requires_grad, settings.get(id(param)))
    for name, buffer in model.named_buffers():
        signature[part_of(name)][f'buffer {name}'] = tuple(buffer.shape)
    for key, value in cfg.model.items():  # every key of the model's config, in the part it configures
        if key == 'teacher':
            for inner, setting in value.items():
                signature[part_of(f'teacher.{inner}')]['config'] = setting
        elif isinstance(value, dict) or value is None:  # a module's config (None: no such module)
            signature[key]['config'] = value
        else:  # a setting of the algorithm itself
            signature['model' if key == 'type' else f'model.{key}']['config'] = value
    return dict(signature)


def changed_parts(row: dict, pcd: dict) -> set:
    """The parts in which two model signatures differ."""
    return {part for part in set(row) | set(pcd) if row.get(part) != pcd.get(part)}


@pytest.fixture(scope='module')
def pcd_signature() -> dict:
    return model_signature(Config.fromfile(bench.ROWS['PCD']))


def test_rows_differ_from_pcd_only_where_they_say(pcd_signature):
    """Each row's built model and optimiser differ from PCD's in the parts its config says, and only there
    (ROW_CHANGES); its data, schedule, crops and teacher are PCD's."""
    pcd = Config.fromfile(bench.ROWS['PCD'])
    assert (pcd.crop_size, pcd.train_cfg.max_epochs, pcd.model.head.queue_len) == (128, 20, 512)
    assert pcd.train_dataloader.dataset.data_root == 'data/pets_mini'
    steps_per_epoch = 300 // pcd.train_dataloader.batch_size
    assert pcd.model.head.queue_len < steps_per_epoch * pcd.train_dataloader.batch_size * 2  # under an epoch of keys
    for row, config in {**bench.ROWS, **bench.SMALL_MAP_ROWS}.items():
        cfg = Config.fromfile(config)
        views = cfg.train_dataloader.dataset.pipeline[1]['transforms']
        assert [v[0]['size'] for v in views] == [cfg.crop_size] * 2, row
        assert cfg.crop_size == (64 if '64 px' in row else 128), row
        assert (cfg.train_dataloader.dataset.data_root, cfg.param_scheduler,
                cfg.train_cfg) == (pcd.train_dataloader.dataset.data_root, pcd.param_scheduler, pcd.train_cfg), row
        assert cfg.model.teacher == pcd.model.teacher or row == 'PCD without SpatialAdaptor', row
        assert cfg.optim_wrapper == pcd.optim_wrapper, row
        assert changed_parts(model_signature(cfg), pcd_signature) == ROW_CHANGES[row], row
    assert set(ROW_CHANGES) == {**bench.ROWS, **bench.SMALL_MAP_ROWS}.keys()
    assert Config.fromfile(bench.ROWS['image-level PCD']).model.head.type == 'ImageContrastHead'
    assert Config.fromfile(bench.SMALL_MAP_ROWS['image-level PCD at 64 px']).model.head.type == 'ImageContrastHead'
    assert Config.fromfile(bench.ROWS['PCD without SpatialAdaptor']).model.teacher.neck is None


@pytest.mark.parametrize('change, part', [
    (dict(model=dict(neck=dict(num_mlps=3))), 'neck'),
    (dict(model=dict(head=dict(temperature=0.1))), 'head'),
    (dict(model=dict(backbone=dict(norm_eval=True))), 'backbone'),
    (dict(model=dict(teacher=dict(input_std=(1.0, 1.0, 1.0)))), 'teacher.input_std'),
    (dict(optim_wrapper=dict(optimizer=dict(lr=2.0))), 'model'),
    (dict(optim_wrapper=dict(paramwise_cfg=dict(flat_decay_mult=1.0))), 'neck'),
])
def test_the_row_check_catches_a_silent_difference(pcd_signature, change, part):
    """A row that says it only drops the MHSA but also changes φ's depth, the loss temperature, the backbone, the
    teacher's input normalisation, the learning rate or which parameters decay is caught by the comparison above."""
    cfg = Config.fromfile(bench.ROWS['PCD w/o MHSA'])
    cfg.merge_from_dict(change)
    assert part in changed_parts(model_signature(cfg), pcd_signature) - ROW_CHANGES['PCD w/o MHSA']


def test_cache_recomputes_only_when_its_key_changes(tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return dict(value=len(calls))

    path = str(tmp_path / 'probe.json')
    assert bench.cached(path, 'a', compute) == dict(value=1)
    assert bench.cached(path, 'a', compute) == dict(value=1) and len(calls) == 1
    assert bench.cached(path, 'b', compute) == dict(value=2)


def test_table_gives_mean_and_sample_std_over_seeds():
    run = lambda linear, knn: dict(linear=dict(miou=linear, pixel_acc=80.0), knn=dict(miou=knn))  # noqa: E731
    results = dict(
        scores={
            bench.RANDOM: [run(30.0, 20.0), run(32.0, 22.0)], bench.TEACHER: [],
            'PCD': [run(40.0, 35.0), run(44.0, 37.0)]
        }, init_scores={'PCD': [run(30.0, 20.0), run(32.0, 22.0)]}, loss={'PCD': [[7.0] * 9, [5.0] * 9]},
        chance={'PCD': 6.5}, crop_size={'PCD': 128})
    lines = bench.table(results).splitlines()
    assert len(lines) == 4  # the header, its rule and two rows: a row without runs is left out
    assert lines[2].startswith('| random initialisation | - | 31.0 ± 1.4 | 21.0 ± 1.4 | 80.0 ± 0.0 | 2 | - | - |')
    assert lines[
        3] == '| PCD | 128 px | 42.0 ± 2.8 | 36.0 ± 1.4 | 80.0 ± 0.0 | 2 | 31.0 ± 1.4 / 21.0 ± 1.4 | 6.00 (0.50 nat) |'


@pytest.mark.slow
def test_quick_dense_benchmark_pcd_pixels_beat_its_random_init(quick_dense_pcd):
    """One seed of the quick benchmark (conftest's quick_dense_pcd, trained once a session): PCD's frozen map segments
    better than the init it started from, under both readouts; the teacher's map is the ceiling and its broadcast
    pooled vector is far below it. Run again, the benchmark reuses the finished run and its probes."""
    work_dir, out = quick_dense_pcd
    tmp_path = Path(work_dir)
    command = [sys.executable, *QUICK_DENSE_PCD, work_dir]
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-5000:]
    results = json.loads((tmp_path / 'results.json').read_text())
    scores = results['scores']
    (pcd, ), (random, ), (teacher, ), (broadcast, ) = (scores[k]
                                                       for k in ('PCD', bench.RANDOM, bench.TEACHER, bench.BROADCAST))
    for readout, margin in QUICK_MARGIN.items():
        assert pcd[readout]['miou'] > random[readout]['miou'] + margin, (readout, scores)
        assert teacher[readout]['miou'] > pcd[readout]['miou'], (readout, scores)
        assert broadcast[readout]['miou'] < teacher[readout]['miou'] - 20, (readout, scores)
    assert results['init_scores'] == {'PCD': [random]}
    assert len(results['loss']['PCD'][0]) == bench.QUICK_OPTIONS['train_cfg.max_epochs'] * 9  # every iteration
    for name in ('table.md', 'miou.png', 'predictions.png'):
        assert (tmp_path / f'summary_{name}').stat().st_size > 100, name
    again = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0 and 'reusing its finished run' in again.stdout, again.stdout[-3000:]
    assert json.loads((tmp_path / 'results.json').read_text())['scores'] == scores
