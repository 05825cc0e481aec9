"""The CPU dense benchmark: its rows' configs, its table, its cache, and a quick real run in which PCD learns."""
import json
import subprocess
import sys

import pytest
from mmengine.config import Config

from mmpcd.benchmarks import dense as bench

from conftest import REPO

#: mIoU points by which the quick PCD student must beat its random init, per readout: above the seed noise of the
#: random init and of the quick gain (docs/dense_benchmark.md).
QUICK_MARGIN = dict(linear=3.0, knn=3.0)


def test_rows_differ_from_pcd_only_where_they_say():
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
    assert Config.fromfile(bench.ROWS['image-level PCD']).model.head.type == 'ImageContrastHead'
    assert Config.fromfile(bench.SMALL_MAP_ROWS['image-level PCD at 64 px']).model.head.type == 'ImageContrastHead'
    assert Config.fromfile(bench.ROWS['PCD without SpatialAdaptor']).model.teacher.neck is None


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
def test_quick_dense_benchmark_pcd_pixels_beat_its_random_init(tmp_path):
    """One seed of the quick benchmark: PCD's frozen map segments better than the init it started from, under both
    readouts; the teacher's map is the ceiling and its broadcast pooled vector is far below it. Run again, the
    benchmark reuses the finished run and its probes."""
    command = [
        sys.executable, 'tools/benchmarks/dense_cpu.py', '--quick', '--rows', 'PCD', '--seeds', '1', '--work-dir',
        str(tmp_path)
    ]
    out = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=1800)
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
