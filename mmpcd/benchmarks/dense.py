"""The CPU dense benchmark: does pixel-level distillation give a student's pixels more than image-level does?

Each row pre-trains ResNet-18 students with ``tools/train.py`` on the
unlabelled train images of ``data/pets_mini`` (one run per seed, from a saved
random init, as :mod:`.distillation_benchmark`), then probes the frozen
student backbone's last map with the two readouts of :mod:`.dense_probe` on
the pets segmentation labels (train split -> mIoU on val). Beside them: the
random initialisation, the teacher's own backbone map (the ceiling) and the
teacher's pooled vector broadcast to every pixel (what an image-level signal
can tell a pixel).

Probe results are cached in each run's folder, keyed by the sha256 of the
probed weights and the probe's settings, so a rerun of the same work dir
trains and probes only what is missing.
"""
import functools
import json
import os
import os.path as osp
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.config import Config
from PIL import Image

from ..datasets.dense_labels import read_classes
from ..evaluation.dense_probe import (KNN_NEIGHBOURS, KNN_TEMPERATURE, PIXELS_PER_IMAGE, broadcast_pooled,
                                      dense_features, dense_probe, load_dense_split)
from ..evaluation.linear_probe import L2_GRID
from ..paths import REPO_ROOT
from ..visualization.dense import plot_dense_predictions, plot_miou_bars
from .distillation import mean_std, released_teacher_map, run_dir_name, save_init, state_digest, student_map, train

DATA_ROOT = osp.join(REPO_ROOT, 'data', 'pets_mini')
PCD_CONFIGS = osp.join(REPO_ROOT, 'configs', 'pcd', 'dense_cpu')
_RECIPE = '1xb32-lars-20e_pets-mini'
#: Rows that pre-train a student at 128 px crops (4 x 4 maps): label -> config. The core rows run 3 seeds: PCD, the
#: image-level rows it must beat, and w/o MHSA, which beat PCD on seed 0 where Table 4 has it lose. A label
#: names its run dirs, which go into --cfg-options (load_from=...): no commas.
ROWS = {
    'PCD': osp.join(PCD_CONFIGS, f'pcd_resnet18-effnetlite0_{_RECIPE}.py'),
    'image-level PCD': osp.join(PCD_CONFIGS, f'pcd_resnet18-effnetlite0-image-level_{_RECIPE}.py'),
    'SEED': osp.join(REPO_ROOT, 'configs', 'seed', 'dense_cpu', f'seed_resnet18-effnetlite0_{_RECIPE}.py'),
    'PCD w/o MHSA': osp.join(PCD_CONFIGS, f'pcd_resnet18-effnetlite0-wo-mhsa_{_RECIPE}.py'),
    'PCD without SpatialAdaptor': osp.join(PCD_CONFIGS, f'pcd_resnet18-effnetlite0-variant-a_{_RECIPE}.py'),
    'DisCo': osp.join(REPO_ROOT, 'configs', 'disco', 'dense_cpu', f'disco_resnet18-effnetlite0_{_RECIPE}.py'),
    # Issue 34: the paper-literal MHSA averages the pixels at initialisation; two forms that keep them apart, and the
    # paper's other control for the MHSA (Table 4, a prediction head of its parameter count).
    'PCD with residual MHSA': osp.join(PCD_CONFIGS, f'pcd_resnet18-effnetlite0-mhsa-residual_{_RECIPE}.py'),
    'PCD with residual MHSA from identity': osp.join(PCD_CONFIGS,
                                                     f'pcd_resnet18-effnetlite0-mhsa-residual-zero-proj_{_RECIPE}.py'),
    'PCD with extra pred.': osp.join(PCD_CONFIGS, f'pcd_resnet18-effnetlite0-extra-pred_{_RECIPE}.py'),
}
CORE_ROWS = ('PCD', 'image-level PCD', 'SEED', 'PCD w/o MHSA')
#: The same two PCD rows at 64 px crops (2 x 2 maps, as the classification benchmark): does the gap grow with the map?
SMALL_MAP_ROWS = {
    'PCD at 64 px': osp.join(PCD_CONFIGS, f'pcd_resnet18-effnetlite0-64px_{_RECIPE}.py'),
    'image-level PCD at 64 px': osp.join(PCD_CONFIGS, f'pcd_resnet18-effnetlite0-image-level-64px_{_RECIPE}.py'),
}
RANDOM = 'random initialisation'
TEACHER = 'teacher backbone map (EfficientNet-Lite0)'
BROADCAST = 'teacher pooled vector, broadcast to every pixel'
#: The probe reads the stride-32 last map at 224 px: 7 x 7, the map the paper's pre-training gives.
PROBE_SIZE = 224
#: Val images drawn in the figure of predictions.
FIGURE_IMAGES = (0, 34, 67, 90)
#: ``--quick``: the first epochs of the same schedule, for the test.
QUICK_OPTIONS = {'train_cfg.max_epochs': 6}
#: ``--quick``: the linear readout fitted on a quarter of the pixels (the fits of the 1280-wide teacher maps take most
#: of a quick run; the k-NN readout is unchanged).
QUICK_PIXELS_PER_IMAGE = PIXELS_PER_IMAGE // 4
READOUTS = ('linear', 'knn')


def probe_settings(pixels_per_image: int) -> str:
    """What a cached probe result depends on besides its model: a change reprobes."""
    return (f'{PROBE_SIZE} px, linear: {pixels_per_image} pixels an image, L2 from {L2_GRID}; k-NN: '
            f'{KNN_NEIGHBOURS} neighbours, temperature {KNN_TEMPERATURE}; figure images {FIGURE_IMAGES}')


class DenseProbeData:
    """The train and val splits of the dense data, resized for the probe with a model's normalization."""

    def __init__(self, data_root: str, size: int, mean: Sequence[float], std: Sequence[float],
                 pixels_per_image: int = PIXELS_PER_IMAGE) -> None:
        self.pixels_per_image = pixels_per_image
        self.classes = read_classes(data_root)
        self.train, self.val = (load_dense_split(data_root, split, size, mean, std, len(self.classes))
                                for split in ('train', 'val'))

    def features(self, feature_map: Callable[[torch.Tensor], torch.Tensor]) -> Tuple[torch.Tensor, torch.Tensor]:
        """``feature_map``'s maps of the train and val images."""
        return dense_features(feature_map, self.train.images), dense_features(feature_map, self.val.images)

    def scores(self, train_features: torch.Tensor, val_features: torch.Tensor) -> Dict[str, Dict[str, object]]:
        """Both readouts of the maps of the train and val images (:func:`~.dense_probe.dense_probe`), with the linear
        readout's label maps of the figure's val images (``linear.predictions``, as lists for json)."""
        scores = dense_probe(train_features, self.train.labels, val_features, self.val.labels, len(self.classes),
                             predict=FIGURE_IMAGES, pixels_per_image=self.pixels_per_image)
        scores['linear']['predictions'] = [p.tolist() for p in scores['linear']['predictions']]
        return scores


def cached(path: str, key: str, compute: Callable[[], dict]) -> dict:
    """``compute()``, kept in the json ``path`` under ``key`` and read back from it while ``key`` is unchanged."""
    if osp.isfile(path):
        with open(path) as f:
            stored = json.load(f)
        if stored.get('key') == key:
            return stored['value']
    value = compute()
    with open(path, 'w') as f:
        json.dump(dict(key=key, value=value), f)
    return value


def run(work_dir: str, rows: Dict[str, str], seeds: Dict[str, Sequence[int]],
        options: Optional[Dict[str, object]] = None, pixels_per_image: int = PIXELS_PER_IMAGE) -> dict:
    """Pre-train and probe each row for each of its seeds; the results, also written to ``work_dir/results.json``
    after every run (a stopped benchmark keeps what it finished), and the first seed's predictions of the figure's
    val images to ``work_dir/predictions.npz``.

    Args:
        work_dir: Where the runs go; finished runs and probes found there are reused.
        rows: ``{row: config}``; the first row's random inits are the random row, so it needs every seed.
        seeds: ``{row: its seeds}``.
        options: ``--cfg-options`` of every run.
        pixels_per_image: Labelled pixels an image of the linear readout's fit.
    """
    os.makedirs(work_dir, exist_ok=True)
    options = dict(options or {})
    cfgs = {row: Config.fromfile(config) for row, config in rows.items()}
    for cfg in cfgs.values():
        cfg.merge_from_dict(options)
    preprocessor = next(iter(cfgs.values())).model.data_preprocessor
    probe = DenseProbeData(DATA_ROOT, PROBE_SIZE, preprocessor.mean, preprocessor.std, pixels_per_image)
    scores: Dict[str, List[dict]] = {RANDOM: [], TEACHER: [], BROADCAST: [], **{row: [] for row in rows}}
    init_scores: Dict[str, List[dict]] = {row: [] for row in rows}
    losses: Dict[str, List[List[float]]] = {row: [] for row in rows}
    predictions: Dict[str, List[np.ndarray]] = {}
    results = dict(scores=scores, init_scores=init_scores, loss=losses, chance={}, seeds=dict(seeds),
                   probe_size=PROBE_SIZE, pixels_per_image=pixels_per_image,
                   crop_size={row: cfg.crop_size
                              for row, cfg in cfgs.items()}, classes=probe.classes,
                   figure_images=[probe.val.paths[i] for i in FIGURE_IMAGES])

    def save() -> None:
        with open(osp.join(work_dir, 'results.json'), 'w') as f:
            json.dump(results, f)
        np.savez_compressed(
            osp.join(work_dir, 'predictions.npz'),
            **{f'{row}|{i}': pred
               for row, preds in predictions.items()
               for i, pred in zip(FIGURE_IMAGES, preds)})

    first_row = next(iter(rows))
    all_seeds = sorted(set().union(*seeds.values()))
    if sorted(seeds[first_row]) != all_seeds:
        raise ValueError(f'the first row, {first_row}, gives the random row: it needs every seed ({all_seeds})')

    def probe_once(row: str, path: str, key: str, features: Callable[[], Tuple[torch.Tensor, torch.Tensor]],
                   keep_predictions: bool) -> dict:
        """The probe's scores of the train and val maps that ``features()`` computes (only when not cached in
        ``path``); its figure predictions kept for ``row``."""
        scores = cached(path, f'{key}; {probe_settings(probe.pixels_per_image)}', lambda: probe.scores(*features()))
        maps = scores['linear'].pop('predictions')
        if keep_predictions:
            predictions[row] = [np.asarray(m, dtype=np.uint8) for m in maps]
        return scores

    for seed in all_seeds:
        for row, config in rows.items():
            if seed not in seeds[row]:
                continue
            run_dir = osp.join(work_dir, run_dir_name(row, seed))
            model, init_ckpt = save_init(cfgs[row], run_dir, seed)
            first_seed = seed == seeds[row][0]
            init_scores[row].append(
                probe_once(RANDOM, osp.join(run_dir, 'init_dense_probe.json'), state_digest(model.state_dict()),
                           lambda: probe.features(student_map(model)), first_seed and row == first_row))
            if row == first_row:
                scores[RANDOM].append(init_scores[row][-1])
                teacher_map = released_teacher_map(model)
                if first_seed and teacher_map is not None:
                    # the teacher's maps computed once, for its own row and its broadcast pooled vector
                    teacher_features = functools.lru_cache(maxsize=1)(lambda: probe.features(teacher_map))
                    for name, features in ((TEACHER, teacher_features),
                                           (BROADCAST, lambda: tuple(map(broadcast_pooled, teacher_features())))):
                        scores[name].append(
                            probe_once(name, osp.join(work_dir, f'{run_dir_name(name, 0)}_dense_probe.json'),
                                       state_digest(model.teacher.state_dict()), features, True))
            last = train(config, run_dir, seed, init_ckpt, options, cfgs[row].train_cfg.max_epochs)
            model.load_state_dict(torch.load(last, map_location='cpu', weights_only=True)['state_dict'])
            scores[row].append(
                probe_once(row, osp.join(run_dir, 'dense_probe.json'), state_digest(model.state_dict()),
                           lambda: probe.features(student_map(model)), first_seed))
            with open(osp.join(run_dir, 'loss_curve.json')) as f:
                curve = json.load(f)
            losses[row].append(curve['losses'])
            results['chance'][row] = curve['chance']
            print(
                f'seed {seed}, {row}: mIoU linear {scores[row][-1]["linear"]["miou"]:.1f}, k-NN '
                f'{scores[row][-1]["knn"]["miou"]:.1f} (its random init {init_scores[row][-1]["linear"]["miou"]:.1f}, '
                f'{init_scores[row][-1]["knn"]["miou"]:.1f})', flush=True)
            save()
    return results


def summary(values: List[dict], readout: str, key: str = 'miou') -> str:
    """``mean ± std`` of a score over runs."""
    mean, std = mean_std([v[readout][key] for v in values])
    return f'{mean:.1f} ± {std:.1f}'


def table(results: dict) -> str:
    """The results as a markdown table: mIoU and pixel accuracy of both readouts, mean ± std over seeds."""
    lines = [
        '| row | pre-training crop | linear mIoU (%) | k-NN mIoU (%) | linear pixel acc. (%) | runs | '
        'its random init: linear / k-NN mIoU | final loss (below log(K+1)) |', '|---|---|---|---|---|---|---|---|'
    ]
    for row, values in results['scores'].items():
        if not values:
            continue
        crop = results['crop_size'].get(row)
        init = results['init_scores'].get(row)
        init_cell = f'{summary(init, "linear")} / {summary(init, "knn")}' if init else '-'
        loss = results['loss'].get(row)
        loss_cell = '-'
        if loss:
            final = float(np.mean([np.mean(run[-9:]) for run in loss]))
            chance = results['chance'].get(row)
            loss_cell = f'{final:.2f}' + (f' ({chance - final:.2f} nat)' if chance else '')
        lines.append(f'| {row} | {f"{crop} px" if crop else "-"} | {summary(values, "linear")} | '
                     f'{summary(values, "knn")} | {summary(values, "linear", "pixel_acc")} | {len(values)} | '
                     f'{init_cell} | {loss_cell} |')
    return '\n'.join(lines)


def figures(work_dir: str, results: dict, out: str) -> List[str]:
    """The mIoU bars (``{out}_miou.png``) and the first seed's predictions (``{out}_predictions.png``) of a run's
    results and ``work_dir/predictions.npz``; the paths written."""
    miou = {
        row: {readout: [v[readout]['miou'] for v in values]
              for readout in READOUTS}
        for row, values in results['scores'].items() if values
    }
    seeds = sorted(set().union(*map(set, results['seeds'].values())))
    plot_miou_bars(miou, f'{out}_miou.png',
                   f'pets_mini val, frozen backbone map at {results["probe_size"]} px; seeds {seeds}')
    stored = np.load(osp.join(work_dir, 'predictions.npz'))
    titles = [row for row in results['scores'] if f'{row}|{FIGURE_IMAGES[0]}' in stored.files]
    labels = [
        np.asarray(Image.open(p.replace('/images/', '/labels/').rsplit('.', 1)[0] + '.png'))
        for p in results['figure_images']
    ]
    plot_dense_predictions(results['figure_images'], labels,
                           {row: [stored[f'{row}|{i}'] for i in FIGURE_IMAGES]
                            for row in titles}, f'{out}_predictions.png')
    return [f'{out}_miou.png', f'{out}_predictions.png']
