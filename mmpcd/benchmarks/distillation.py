"""The CPU distillation benchmark: does a distilled student end up better than it started?

Each row pre-trains ResNet-18 students with ``tools/train.py`` on the unlabelled
train images of ``data/cifar10_mini`` (one run per seed), then scores the
student's global-average-pooled backbone output with :func:`linear_probe`
(labelled train split -> top-1 on the val split). Beside them: the random
initialisation each run starts from (the same seed, the same
``init_weights``: the run loads it with ``load_from``) and the teacher's own
pooled backbone features, the ceiling.
"""
import hashlib
import inspect
import json
import os
import os.path as osp
import statistics
import subprocess
import sys
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import torch
from mmengine.config import Config

from ..datasets.image_lists import load_images, read_labelled_list
from ..evaluation.linear_probe import linear_probe, pooled_features
from ..models.builder import build_model
from ..paths import REPO_ROOT
from ..visualization import chance_loss, plot_loss_curves

CONFIGS = osp.join(REPO_ROOT, 'configs', 'pcd', 'cpu')
#: Rows that pre-train a student: label -> config.
ROWS = {
    'PCD': osp.join(CONFIGS, 'pcd_resnet18-effnetlite0_1xb32-lars-15e_cifar10-mini.py'),
    'PCD w/o MHSA': osp.join(CONFIGS, 'pcd_resnet18-effnetlite0-wo-mhsa_1xb32-lars-15e_cifar10-mini.py'),
    'image-level PCD': osp.join(CONFIGS, 'pcd_resnet18-effnetlite0-image-level_1xb32-lars-15e_cifar10-mini.py'),
    'SEED': osp.join(REPO_ROOT, 'configs', 'seed', 'cpu', 'seed_resnet18-effnetlite0_1xb32-lars-15e_cifar10-mini.py'),
    'DisCo': osp.join(REPO_ROOT, 'configs', 'disco', 'cpu',
                      'disco_resnet18-effnetlite0_1xb32-lars-15e_cifar10-mini.py'),
}
#: Peers that pre-train the same student without a released teacher, run on request: DINO and SSLight
#: (docs/dino_sslight.md) and online OSS, whose ResNet-50 teacher learns beside the student (docs/oss.md).
PEER_ROWS = {
    'DINO': osp.join(REPO_ROOT, 'configs', 'dino', 'cpu', 'dino_resnet18_1xb32-lars-15e_cifar10-mini.py'),
    'SSLight': osp.join(REPO_ROOT, 'configs', 'sslight', 'cpu', 'sslight_resnet18_1xb32-lars-15e_cifar10-mini.py'),
    'OSS': osp.join(REPO_ROOT, 'configs', 'oss', 'cpu', 'oss_resnet18-r50_1xb32-lars-15e_cifar10-mini.py'),
}
RANDOM, TEACHER = 'random initialisation', 'teacher (EfficientNet-Lite0, pooled backbone)'
#: ``--quick``: the first epochs of the same schedule, for the test.
QUICK_OPTIONS = {'train_cfg.max_epochs': 4}


class ProbeData:
    """The labelled train and val images of ``data_root`` (``meta/{train,val}.txt``), resized for the probe."""

    def __init__(self, data_root: str, size: int, mean: Sequence[float], std: Sequence[float]) -> None:

        def split(name: str) -> Tuple[torch.Tensor, torch.Tensor]:
            paths, labels = read_labelled_list(osp.join(data_root, 'meta', f'{name}.txt'), osp.join(data_root, name))
            return load_images(paths, size, mean, std), labels

        (self.train_x, self.train_y), (self.val_x, self.val_y) = split('train'), split('val')

    def top1(self, feature_map: Callable[[torch.Tensor], torch.Tensor]) -> float:
        """Linear-probe top-1 (%) of the pooled maps of ``feature_map``."""
        top1, _ = linear_probe(pooled_features(feature_map, self.train_x), self.train_y,
                               pooled_features(feature_map, self.val_x), self.val_y)
        return top1


def student_map(model: torch.nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    """The student backbone's last map."""
    return lambda x: model.backbone(x)[-1]


def released_teacher_map(model: torch.nn.Module) -> Optional[Callable[[torch.Tensor], torch.Tensor]]:
    """The released teacher's backbone map, or None for a row without one (DINO's EMA teacher, OSS's teacher trained
    beside the student)."""
    return getattr(getattr(model, 'teacher', None), 'backbone_map', None)


def run_dir_name(row: str, seed: int) -> str:
    """The folder of a row's run for a seed, in the benchmark's work dir."""
    return f'{row.replace(" ", "_").replace("/", "")}_seed{seed}'


RUN_KEY = 'run_key.json'


def save_init(cfg: Config, run_dir: str, seed: int) -> Tuple[torch.nn.Module, str]:
    """The row's model built at ``seed`` (its random init) and the checkpoint ``run_dir/init.pth`` of it, which
    the run starts from (``load_from``)."""
    os.makedirs(run_dir, exist_ok=True)
    model = build_model(cfg, seed)
    init_ckpt = osp.join(run_dir, 'init.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict(seed=seed)), init_ckpt)
    return model, init_ckpt


def state_digest(state: Mapping[str, torch.Tensor]) -> str:
    """sha256 of a state dict's tensors: names, dtypes, shapes and values, in name order."""
    digest = hashlib.sha256()
    for name in sorted(state):
        digest.update(f'{name} {state[name].dtype} {tuple(state[name].shape)}'.encode())
        digest.update(state[name].contiguous().numpy().tobytes())
    return digest.hexdigest()


#: Project code that builds every benchmark model, beside the model's own classes.
SHARED_MODEL_CODE = ('mmpcd/models/builder.py', )


def source_files(entries: Sequence[str]) -> List[str]:
    """The ``.py`` files of ``entries`` (files or folders, relative to the repository), sorted."""
    files = []
    for entry in entries:
        path = osp.join(REPO_ROOT, entry)
        files += [path] if osp.isfile(path) else [
            osp.join(root, name) for root, _, names in os.walk(path) for name in names if name.endswith('.py')
        ]
    return sorted(files)


def files_digest(files: Sequence[str]) -> str:
    """sha256 of files' paths (relative to the repository) and contents."""
    digest = hashlib.sha256()
    for file in files:
        digest.update(osp.relpath(file, REPO_ROOT).encode())
        with open(file, 'rb') as f:
            digest.update(f.read())
    return digest.hexdigest()


def model_code_files(model_cfg: dict) -> List[str]:
    """The project's source files a model config's result depends on: the modules of the classes it builds (each
    ``type``, nested, looked up in mmselfsup's registry, with the project's classes they derive from), the project
    modules whose classes and functions those modules import (the teacher, the losses, the width rules), and
    :data:`SHARED_MODEL_CODE`."""
    from mmselfsup.registry import MODELS

    files = set(source_files(SHARED_MODEL_CODE))

    def project_file(obj: object) -> Optional[str]:
        module = getattr(obj, '__module__', None) or ''
        return osp.abspath(inspect.getsourcefile(obj)) if module.split('.')[0] == 'mmpcd' else None

    def add_class(cls: type) -> None:
        for base in cls.__mro__:
            if project_file(base):
                files.add(project_file(base))
                files.update(f for f in map(project_file, (v for v in vars(sys.modules[base.__module__]).values()
                                                           if inspect.isclass(v) or inspect.isfunction(v))) if f)

    def visit(node: object) -> None:
        if isinstance(node, dict):
            cls = MODELS.get(node['type']) if isinstance(node.get('type'), str) else None
            if inspect.isclass(cls):
                add_class(cls)
            for value in node.values():
                visit(value)
        elif isinstance(node, (list, tuple)):
            for value in node:
                visit(value)

    visit(model_cfg)
    return sorted(files)


def run_key(config: str, seed: int, init_ckpt: str, options: Dict[str, object]) -> dict:
    """What decides a benchmark run's result: the content of its config resolved with its options (sha256 of the
    text mmengine prints, so an edit of the file or of a base it inherits changes it, and a copy elsewhere does not),
    its seed, the sha256 of the initial weights it starts from (:func:`state_digest`) and of the project's model code
    it builds (:func:`model_code_files`) with torch's version. The config's path is kept for the message only."""
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(options)
    state = torch.load(init_ckpt, map_location='cpu', weights_only=True)['state_dict']
    code = files_digest(model_code_files(cfg.model)) + f' torch {torch.__version__}'
    return dict(config_sha256=hashlib.sha256(cfg.pretty_text.encode()).hexdigest(), seed=seed,
                init_sha256=state_digest(state), model_code_sha256=hashlib.sha256(code.encode()).hexdigest(),
                config=osp.relpath(osp.abspath(config), REPO_ROOT))


def train(config: str, work_dir: str, seed: int, init_ckpt: str, options: Dict[str, object], max_epochs: int) -> str:
    """Run ``tools/train.py`` from ``init_ckpt``; the path of its last checkpoint.

    A run of ``work_dir`` that already ended at ``max_epochs`` is reused, not
    repeated, when it is the run asked for (:func:`run_key`: the same config
    content, seed, initial weights and model code; kept in
    ``work_dir/run_key.json`` when the run starts). An unfinished run of the
    same key is resumed from its last checkpoint (``--resume``), its
    ``train.log`` continued.

    Raises:
        RuntimeError: the training failed, or ``work_dir`` holds a run (finished
            or not) of something else (named, with what differs).
    """
    key = run_key(config, seed, init_ckpt, options)
    done_file, key_file = osp.join(work_dir, 'last_checkpoint'), osp.join(work_dir, RUN_KEY)
    last = None
    if osp.isfile(done_file):
        with open(done_file) as f:
            last = f.read().strip()
    if last and osp.isfile(last):
        stored = None
        if osp.isfile(key_file):
            with open(key_file) as f:
                stored = json.load(f)
        finished = torch.load(last, map_location='cpu', weights_only=True)['meta']['epoch'] == max_epochs
        if {k: v
                for k, v in (stored or {}).items() if k != 'config'} != {k: v
                                                                         for k, v in key.items() if k != 'config'}:
            differ = [k for k in key if k != 'config' and (stored is None or stored.get(k) != key[k])]
            raise RuntimeError(
                f'{work_dir} holds a {"finished" if finished else "started"} run ({last}) that is not the one asked '
                f'for: its {", ".join(differ)} differ ({key_file}: {stored}; asked: {key}). Use another --work-dir, or '
                f'remove {work_dir} to train it again')
        if finished:
            print(f'{work_dir}: reusing its finished run ({last})', flush=True)
            return last
        print(f'{work_dir}: resuming its unfinished run from {last}', flush=True)
    else:
        last = None
        with open(key_file, 'w') as f:
            json.dump(key, f)
    cmd = [
        sys.executable,
        osp.join(REPO_ROOT, 'tools', 'train.py'), config, '--work-dir', work_dir, '--seed',
        str(seed), *(['--resume', last] if last else []), '--cfg-options',
        *([] if last else [f'load_from={init_ckpt}']), *[f'{k}={v}' for k, v in options.items()]
    ]
    with open(osp.join(work_dir, 'train.log'), 'a' if last else 'w') as log:
        done = subprocess.run(cmd, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT)
    if done.returncode:
        raise RuntimeError(f'training failed (exit {done.returncode}): {" ".join(cmd)}; see {work_dir}/train.log')
    with open(done_file) as f:
        return f.read().strip()


def run(work_dir: str, seeds: Sequence[int], rows: Dict[str, str], options: Optional[Dict[str, object]] = None) -> dict:
    """Pre-train and probe every row for every seed; the results, also written to ``work_dir/results.json``."""
    os.makedirs(work_dir, exist_ok=True)
    options = dict(options or {})
    cfgs = {row: Config.fromfile(config) for row, config in rows.items()}
    for cfg in cfgs.values():
        cfg.merge_from_dict(options)
    first = next(iter(cfgs.values()))
    data_root = first.train_dataloader.dataset.data_root
    size = first.crop_size
    preprocessor = first.model.data_preprocessor
    probe = ProbeData(osp.join(REPO_ROOT, data_root), size, preprocessor.mean, preprocessor.std)
    # K of each contrastive row (None: a loss without a chance level log(K+1), as DINO's)
    queue_len = {row: cfg.model.get('queue', cfg.model.head).get('queue_len') for row, cfg in cfgs.items()}
    top1 = {RANDOM: [], TEACHER: [], **{row: [] for row in rows}}
    init_top1 = {row: [] for row in rows}
    losses = {row: [] for row in rows}
    num_negatives = next((k for k in queue_len.values() if k), None)
    results: dict = dict(top1=top1, init_top1=init_top1, loss=losses, chance={}, num_negatives=num_negatives, size=size,
                         seeds=list(seeds))
    for seed in seeds:
        for row, config in rows.items():
            run_dir = osp.join(work_dir, run_dir_name(row, seed))
            model, init_ckpt = save_init(cfgs[row], run_dir, seed)
            # each row's own random init: the parts built around the backbone draw other random numbers before it
            init_top1[row].append(probe.top1(student_map(model)))
            if row == next(iter(rows)):
                top1[RANDOM].append(init_top1[row][-1])
                teacher_map = released_teacher_map(model)
                if seed == seeds[0] and teacher_map is not None:
                    top1[TEACHER].append(probe.top1(teacher_map))
            last = train(config, run_dir, seed, init_ckpt, options, cfgs[row].train_cfg.max_epochs)
            model.load_state_dict(torch.load(last, map_location='cpu', weights_only=True)['state_dict'])
            top1[row].append(probe.top1(student_map(model)))
            with open(osp.join(run_dir, 'loss_curve.json')) as f:
                curve = json.load(f)
            losses[row].append(curve['losses'])
            results['chance'][row] = curve['chance']  # None: the loss is not InfoNCE alone (DisCo)
            print(f'seed {seed}, {row}: top-1 {top1[row][-1]:.1f} (its random init {init_top1[row][-1]:.1f})',
                  flush=True)
    with open(osp.join(work_dir, 'results.json'), 'w') as f:
        json.dump(results, f)
    return results


def mean_std(values: List[float]) -> Tuple[float, float]:
    """Mean and sample standard deviation (0 for one value)."""
    return statistics.mean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def final_loss(losses: List[float], last: int = 20) -> float:
    """The mean loss of the last ``last`` iterations of a run."""
    return statistics.mean(losses[-last:])


def table(results: dict) -> str:
    """The results as a markdown table: top-1 mean ± std over seeds, final loss against chance, each row's own
    random init (``init_top1``)."""
    lines = [
        '| row | linear-probe top-1 (%) | runs | final training loss | below chance log(K+1) | its random init |',
        '|---|---|---|---|---|---|'
    ]
    inits = results.get('init_top1', {})
    for row, values in results['top1'].items():
        if not values:  # no released teacher among the rows
            continue
        mean, std = mean_std(values)
        loss = results['loss'].get(row)
        if loss:
            final = statistics.mean(final_loss(run) for run in loss)
            # results of runs before the per-row chance (PCD rows only) have one K for all
            chances = results.get('chance', {})
            chance = chances[row] if row in chances else chance_loss(results['num_negatives'])
            loss_cells = f'{final:.2f} | ' + (f'{chance - final:.2f} nat' if chance is not None else '-')
        else:
            loss_cells = '- | -'
        init = '{:.1f} ± {:.1f}'.format(*mean_std(inits[row])) if inits.get(row) else '-'
        lines.append(f'| {row} | {mean:.1f} ± {std:.1f} | {len(values)} | {loss_cells} | {init} |')
    return '\n'.join(lines)


def plot(results: dict, path: str) -> None:
    """The training-loss curves of every row and seed, with the chance line."""
    plot_loss_curves(results['loss'], path, results['num_negatives'],
                     title=f'PCD on cifar10_mini ({results["size"]} px), seeds {results["seeds"]}')
