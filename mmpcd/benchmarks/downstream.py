"""The downstream evaluations of Table 1 (``tools/benchmarks/run_downstream.py``), and the check that a fine-tuning
config's ``init_cfg=dict(type='Pretrained', ...)`` fills every tensor of the module it initialises.

mmengine's ``Pretrained`` loads with ``strict=False``: given the raw training checkpoint without ``prefix``, or a
ResNet-18 export with ``depth=34``, it loads what matches, logs a warning and the fine-tuning starts from a partly
(or wholly) random backbone. :func:`check_pretrained_inits` reads each such checkpoint as ``Pretrained`` does and
refuses a module that it would leave partly random, before anything is launched.
"""
import argparse
import glob
import json
import os
import os.path as osp
import re
import statistics
import subprocess
import sys
from typing import Dict, Iterator, List, NamedTuple, Optional, Sequence, Tuple

import torch
from mmengine.config import Config, DictAction
from mmengine.registry import MODELS, DefaultScope
from mmengine.runner.checkpoint import _load_checkpoint
from mmengine.utils import import_modules_from_strings

from ..fileio import load_checkpoint_file
from ..models.utils import CheckpointMismatchError, keys_under, mismatch_report
from ..paths import REPO_ROOT

BENCH = osp.join(REPO_ROOT, 'configs', 'benchmarks')
#: Layers that a module adds to the student's by design, which its checkpoint does not hold: type -> key prefixes.
#: MoCo's C4 RoI head (mmselfsup's ResLayerExtraNorm) is stage 5 and a new BN after it, fresh as detectron2's.
NEW_LAYERS = {'ResLayerExtraNorm': ('norm.', )}
#: Where the exact ``init_cfg`` of each kind of checkpoint is documented.
INIT_CFG_DOCS = 'docs/downstream.md, "Loading the student: the exact init_cfg"'


class Task(NamedTuple):
    """A column of Table 1."""

    config: str  # under configs/benchmarks
    norm_rescale: bool  # export with NormRescale 0.25 (C4 and FCN, Sec. 4.1)
    c4: bool  # the RoI head's shared head (stage 5) loads the student too
    seeds: int  # runs by default
    metrics: List[str]


TASKS = {
    'voc07': Task('mmdetection/voc0712/faster-rcnn_r18-c4_ms-9k_voc07.py', True, True, 5,
                  ['pascal_voc/AP50', 'pascal_voc/mAP']),
    'voc0712': Task('mmdetection/voc0712/faster-rcnn_r18-c4_ms-24k_voc0712.py', True, True, 5,
                    ['pascal_voc/AP50', 'pascal_voc/mAP']),
    'coco-c4': Task('mmdetection/coco/mask-rcnn_r18-c4_1x_coco.py', True, True, 1, ['coco/bbox_mAP', 'coco/segm_mAP']),
    'coco-fpn': Task('mmdetection/coco/mask-rcnn_r18_fpn_1x_coco.py', False, False, 1,
                     ['coco/bbox_mAP', 'coco/segm_mAP']),
    'cityscapes': Task('mmsegmentation/cityscapes/fcn-bn-d6_r18-d16_90k_cityscapes.py', True, False, 5, ['mIoU']),
    'linear': Task('classification/imagenet/resnet18_linear-8xb128-coslr-100e_in1k.py', False, False, 1,
                   ['accuracy/top1']),
}


def pretrained_inits(cfg: dict, path: str = 'model') -> Iterator[Tuple[str, dict, dict]]:
    """Every module config under ``cfg`` with a ``Pretrained`` init: (its key, e.g. ``model.backbone``, the
    module config, the ``init_cfg`` entry)."""
    if isinstance(cfg, dict):
        inits = cfg.get('init_cfg')
        for init in inits if isinstance(inits, (list, tuple)) else [inits]:
            if isinstance(init, dict) and init.get('type') == 'Pretrained':
                yield path, cfg, init
        for key, value in cfg.items():
            if key != 'init_cfg':
                yield from pretrained_inits(value, f'{path}.{key}')
    elif isinstance(cfg, (list, tuple)):
        for index, value in enumerate(cfg):
            yield from pretrained_inits(value, f'{path}[{index}]')


def pretrained_tensors(init: dict) -> Dict[str, torch.Tensor]:
    """The tensors that mmengine's ``Pretrained`` init would offer to its module, keyed as it loads them: the
    checkpoint's ``state_dict`` (or the checkpoint itself), ``module.`` removed; with ``prefix``, the keys under
    it without it."""
    checkpoint = _load_checkpoint(init['checkpoint'], map_location='cpu')
    prefix = init.get('prefix')
    if prefix is None:
        state = checkpoint.get('state_dict', checkpoint)
        return {re.sub(r'^module\.', '', k): v for k, v in state.items()}
    return keys_under(checkpoint.get('state_dict', checkpoint.get('model', checkpoint)), prefix)


def missing_parts(expected: Dict[str, torch.Tensor], found: Dict[str, torch.Tensor]) -> List[str]:
    """The parts of a module (``expected``, its state dict) that a checkpoint's tensors ``found`` lack, coarsest first:
    whole submodules (``layer4``), whole blocks (``layer3.2``), then single tensors, each with its tensor count."""
    left = sorted(k for k in expected if k not in found)
    parts = []
    for level in (1, 2):
        for name in sorted({'.'.join(k.split('.')[:level]) for k in left if k.count('.') >= level}):
            lacking = [k for k in left if k.startswith(f'{name}.')]
            if not any(k.startswith(f'{name}.') for k in found):
                parts.append(f'{name} ({len(lacking)} tensors)')
                left = [k for k in left if k not in lacking]
    return parts + left


def _fix(path: str, module_cfg: dict, init: dict, found: Dict[str, torch.Tensor], expected: Dict[str,
                                                                                                 torch.Tensor]) -> str:
    """What to do about a checkpoint that leaves the module partly random, from what the checkpoint holds."""
    checkpoint, prefix = init['checkpoint'], init.get('prefix')
    if prefix is None and any(k.startswith('backbone.') for k in found):
        return (f"Its keys start with 'backbone.': it is a training checkpoint of tools/train.py. Export the student "
                f'(python tools/model_converters/export_student.py {checkpoint} student.pth) and give student.pth, or '
                f"set {path}.init_cfg.prefix='backbone.'")
    if prefix is not None and not found:
        return (f'It holds no key under {path}.init_cfg.prefix={prefix!r}: set the prefix to the module of the '
                "checkpoint to load (the student backbone of a training checkpoint: 'backbone.'), or remove it "
                'for an export')
    architecture = ', '.join(f'{k}={module_cfg[k]}' for k in ('type', 'depth', 'arch') if k in module_cfg)
    lacking = missing_parts(expected, found)
    shapes = [k for k, v in expected.items() if k in found and found[k].shape != v.shape]
    what = ([f'it lacks {", ".join(lacking[:8])}{" ..." if len(lacking) > 8 else ""}'] if lacking else
            []) + ([f'{len(shapes)} of its tensors have another shape there ({shapes[0]}, ...)'] if shapes else [])
    return (f'Of what {path} builds ({architecture}), {"; and ".join(what)}: the checkpoint holds another network, or '
            f'part of one. Set {path} to the architecture of the network it holds, or give a checkpoint of this one')


def check_pretrained_init(path: str, module_cfg: dict, init: dict) -> None:
    """Refuse a ``Pretrained`` init that would leave part of its module random.

    Every tensor of the module built from ``module_cfg`` must be in the
    checkpoint, read as mmengine's ``Pretrained`` reads it, with its shape;
    keys of the checkpoint that the module lacks are ignored (``layer4`` for
    a C4 backbone, a torchvision ``fc``), as are the module's new layers
    (``NEW_LAYERS``).

    Args:
        path: The module's key in the config, for the message (``model.backbone``).
        module_cfg: Its config, built in the current default scope.
        init: Its ``Pretrained`` ``init_cfg``.

    Raises:
        CheckpointMismatchError: Naming the checkpoint, the tensors it lacks
            or holds in another shape, and the fix.
    """
    module = MODELS.build({k: v for k, v in module_cfg.items() if k != 'init_cfg'})
    new = NEW_LAYERS.get(str(module_cfg.get('type')).split('.')[-1], ())
    expected = {k: v for k, v in module.state_dict().items() if not k.startswith(new)}
    found = pretrained_tensors(init)
    report = mismatch_report(expected, {k: v for k, v in found.items() if k in expected})
    if report:
        loaded = sum(k in found and found[k].shape == v.shape for k, v in expected.items())
        raise CheckpointMismatchError(
            f'{path}.init_cfg: {init["checkpoint"]} would leave {path} partly random: it fills {loaded} of its '
            f'{len(expected)} tensors (mmengine\'s Pretrained loads what matches and only warns). '
            f'{_fix(path, module_cfg, init, found, expected)}. Nothing was launched; see {INIT_CFG_DOCS}.{report}')


def check_pretrained_inits(cfg: Config) -> None:
    """:func:`check_pretrained_init` for every module of ``cfg.model`` with a ``Pretrained`` init, built in the
    config's scope after its ``custom_imports``."""
    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg.custom_imports)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        for path, module_cfg, init in pretrained_inits(cfg.model):
            check_pretrained_init(path, module_cfg, init)


def config_with_options(config: str, options: Sequence[str]) -> Config:
    """``config`` with ``key=value`` overrides merged, as ``tools/train.py --cfg-options`` merges them."""
    parser = argparse.ArgumentParser()
    parser.add_argument('options', nargs='*', action=DictAction)
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(parser.parse_args(list(options)).options or {})
    return cfg


def scalar_records(work_dir: str) -> Iterator[dict]:
    """The records of a run's ``scalars.json`` files (mmengine's, one a timestamped log folder), in order."""
    for path in sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))):
        with open(path) as f:
            yield from map(json.loads, f)


def last_metrics(work_dir: str, keys: List[str]) -> Dict[str, float]:
    """The metrics of the last evaluation in a run's scalars.json."""
    found: Dict[str, float] = {}
    for record in scalar_records(work_dir):
        found.update({k: record[k] for k in keys if k in record})
    missing = [k for k in keys if k not in found]
    if missing:
        raise RuntimeError(f'no {missing} in the logs of {work_dir}: did the evaluation run?')
    return found


def run_or_exit(cmd: List[str]) -> None:
    """Run a step (the export, a fine-tuning); if it fails, exit with its status. Its own error, printed above,
    says why: a traceback of the failed call here would only repeat it."""
    status = subprocess.run(cmd).returncode
    if status:
        raise SystemExit(status)


def export_options(checkpoint: str, norm_rescale: bool, prefix: Optional[str] = None) -> List[str]:
    """The options of ``export_student.py`` that make a task's student from ``checkpoint``: ``--prefix`` and, where
    the task wants NormRescale 0.25 and the checkpoint does not record it already, ``--norm-rescale 0.25``.

    Args:
        checkpoint: A training checkpoint of tools/train.py, or a checkpoint
            that holds the backbone alone (an export of export_student.py,
            a torchvision state dict).
        norm_rescale: Whether the task fine-tunes with NormRescale 0.25.
        prefix: The student's module in the checkpoint; None: ``'backbone.'``
            if a key starts with it, else ``''`` (an export; said on stdout).

    Raises:
        CheckpointLoadError: The file cannot be loaded (weights_only).
        ValueError: An export made with another NormRescale than the task's
            (its ``meta.norm_rescale``): rescaling again would compound it.
    """
    loaded = load_checkpoint_file(checkpoint, 'checkpoint to fine-tune')
    meta = loaded.get('meta') if isinstance(loaded.get('meta'), dict) else {}
    if prefix is None:
        prefix = 'backbone.' if any(k.startswith('backbone.') for k in loaded.get('state_dict', loaded)) else ''
        if not prefix:
            print(f"{checkpoint} holds no key under 'backbone.': taken as the backbone alone (an export), exported "
                  "again with --prefix ''")
    done, wanted = meta.get('norm_rescale'), 0.25 if norm_rescale else None
    if not prefix and wanted and 'norm_rescale' not in meta:
        print(f'{checkpoint} records no NormRescale (meta.norm_rescale, which export_student.py writes): taken as not '
              'rescaled, NormRescale 0.25 is applied')
    if done is not None and done != wanted:
        raise ValueError(f'{checkpoint} is an export made with NormRescale {done} (its meta.norm_rescale), and this '
                         f'task fine-tunes with {wanted or "none"}: rescaling again would compound it. Give the '
                         'training checkpoint, or an export made without --norm-rescale')
    return ['--prefix', prefix] + (['--norm-rescale', '0.25'] if wanted and done is None else [])


def parse_downstream_args(argv: Optional[Sequence[str]] = None, usage: Optional[str] = None) -> argparse.Namespace:
    """The command line of ``tools/benchmarks/run_downstream.py``; ``usage``: its description in ``--help``."""
    parser = argparse.ArgumentParser(description=usage, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('task', choices=sorted(TASKS))
    parser.add_argument('checkpoint', help='PCD checkpoint of tools/train.py, or an export of export_student.py')
    parser.add_argument(
        '--prefix', default=None, help="the student's module in the checkpoint (default: 'backbone.' if a key "
        "starts with it, else '': an export)")
    parser.add_argument('--gpus', type=int, default=8, help='processes (0 or 1: one process, no launcher)')
    parser.add_argument('--seeds', type=int, default=None, help='runs (default: 5 for VOC and Cityscapes, else 1)')
    parser.add_argument('--work-dir', default=None)
    parser.add_argument('--config', default=None, help="replace the task's config (e.g. a shorter one)")
    parser.add_argument('--cfg-options', nargs='+', default=[], help='passed on to tools/train.py')
    return parser.parse_args(argv)


def run_downstream(argv: Optional[Sequence[str]] = None, usage: Optional[str] = None) -> Dict[str, dict]:
    """Export the student, check that the task's config loads all of it, fine-tune and evaluate over seeds; print
    the metrics with their mean and std and write them to ``WORK_DIR/summary.json``.

    Args:
        argv: The command line (:func:`parse_downstream_args`; None: ``sys.argv``).
        usage: The description that ``--help`` prints.

    Returns:
        metric -> ``dict(mean, std, runs)``.

    Raises:
        CheckpointLoadError, ValueError: the checkpoint cannot be loaded, or
            is an export with another NormRescale (:func:`export_options`).
        CheckpointMismatchError: a ``Pretrained`` init of the config (with
            ``--cfg-options``) would leave a module partly random; raised
            before any fine-tuning.
        SystemExit: the export or a fine-tuning failed (its status).
    """
    args = parse_downstream_args(argv, usage)
    task = TASKS[args.task]
    config = args.config or osp.join(BENCH, task.config)
    work_dir = args.work_dir or osp.join('work_dirs', 'downstream', args.task)
    os.makedirs(work_dir, exist_ok=True)
    student = osp.join(work_dir, 'student.pth')
    run_or_exit([
        sys.executable,
        osp.join(REPO_ROOT, 'tools', 'model_converters', 'export_student.py'), args.checkpoint, student, '--force'
    ] + export_options(args.checkpoint, task.norm_rescale, args.prefix))
    options = [f'model.backbone.init_cfg.checkpoint={student}'
               ] + ([f'model.roi_head.shared_head.init_cfg.checkpoint={student}'] if task.c4 else []) + args.cfg_options
    check_pretrained_inits(config_with_options(config, options))
    results = []
    for seed in range(args.seeds or task.seeds):
        run_dir = osp.join(work_dir, f'seed{seed}')
        if args.gpus > 1:
            cmd = ['bash', osp.join(REPO_ROOT, 'tools', 'dist_train.sh'), config, str(args.gpus)]
        else:
            cmd = [sys.executable, osp.join(REPO_ROOT, 'tools', 'train.py'), config]
        run_or_exit(cmd + ['--work-dir', run_dir, '--seed', str(seed), '--cfg-options', *options])
        results.append(last_metrics(run_dir, task.metrics))
    print(f'\n{args.task}: {config}, {len(results)} run(s)\n')
    print('| metric | ' + ' | '.join(f'seed {i}' for i in range(len(results))) + ' | mean | std |')
    print('|---' * (len(results) + 3) + '|')
    summary = {}
    for key in task.metrics:
        values = [r[key] for r in results]
        std = statistics.stdev(values) if len(values) > 1 else 0.
        summary[key] = dict(mean=statistics.mean(values), std=std, runs=values)
        print(f'| {key} | ' + ' | '.join(f'{v:.4g}' for v in values) + f' | {summary[key]["mean"]:.4g} | {std:.3g} |')
    with open(osp.join(work_dir, 'summary.json'), 'w') as f:
        json.dump(summary, f, indent=1)
    return summary
