"""The CPU fine-tuning benchmark: the paper's own protocol (Table 1: export the student, fine-tune every layer with
mmseg's FCN and mmdet's Mask R-CNN FPN, score on val) at CPU scale, on the dense labels of ``data/pets_mini``.

Each row's students are the dense benchmark's pre-training runs (:mod:`.dense`: the same configs, seeds and run
folders, so its finished runs are reused); the random-initialisation row is the student those runs start from. Each
student is exported with ``tools/model_converters/export_student.py`` as the task asks (NormRescale 0.25 for the FCN,
Sec. 4.1), checked to fill its backbone (:func:`~.downstream.check_pretrained_inits`) and fine-tuned by
``tools/train.py`` on the task's config, the export given as ``init_cfg=Pretrained``: the path a user takes. The
metrics are mmseg's ``IoUMetric`` and mmdet's ``CocoMetric`` of the run's final evaluation on the val split.

A fine-tuning run lives in a folder named by the digest of what decides its result (:func:`finetune_key`: the
resolved config, the exported tensors, the seed, the fine-tuning code and the library versions), so a rerun reuses
it, and a change of any of them trains anew beside it.
"""
import glob
import hashlib
import json
import os
import os.path as osp
import subprocess
import sys
import time
from typing import Dict, List, NamedTuple, Optional, Sequence

import torch
from mmengine.config import Config

from ..fileio import atomic_write, load_checkpoint_file
from ..paths import REPO_ROOT
from . import dense
from .distillation import files_digest, mean_std, run_dir_name, save_init, source_files, state_digest, train
from .distillation_figures import last_checkpoint
from .downstream import check_pretrained_inits, last_metrics, scalar_records

BENCH = osp.join(REPO_ROOT, 'configs', 'benchmarks')


class FinetuneTask(NamedTuple):
    """A fine-tuning task of the benchmark."""

    config: str
    norm_rescale: bool  # export with NormRescale 0.25 (the paper's C4 and FCN fine-tunings, Sec. 4.1)
    metrics: Dict[str, str]  # the toolkit's metric key -> the table's column
    scale: float  # the metric's unit -> %


TASKS = {
    'segmentation': FinetuneTask(osp.join(BENCH, 'mmsegmentation', 'pets', 'fcn-bn-d6_r18-d16_1xb8-500it_pets-mini.py'),
                                 True, {'mIoU': 'mIoU'}, 1.),
    'instances': FinetuneTask(osp.join(BENCH, 'mmdetection', 'pets', 'mask-rcnn_r18_fpn_1xb4-4e_pets-mini.py'), False,
                              {'coco/bbox_mAP': 'AP^bbox', 'coco/segm_mAP': 'AP^mask'}, 100.),
}
RANDOM = dense.RANDOM
#: The rows: the random init (the students' starting point) and the dense benchmark's core rows.
ROWS = (RANDOM, *dense.CORE_ROWS)
#: ``--quick``: a short pre-training (the dense benchmark's) and short fine-tunings, for the test.
#: (A warm-up of one iteration would stay at its start factor: mmengine's LinearLR reaches the lr at its last step.)
QUICK_FINETUNE = {
    'segmentation': {
        'train_cfg.max_iters': 60, 'train_cfg.val_interval': 60, 'param_scheduler.0.end': 5,
        'param_scheduler.1.milestones': [42, 54], 'param_scheduler.1.end': 60, 'default_hooks.checkpoint.interval': 60
    },
    'instances': {
        'train_dataloader.dataset.indices': 40, 'val_dataloader.dataset.indices': 20, 'train_cfg.max_epochs': 1,
        'train_cfg.val_interval': 1, 'param_scheduler.0.end': 3, 'param_scheduler.1.milestones': [1],
        'param_scheduler.1.end': 1, 'default_hooks.checkpoint.interval': 1, 'custom_hooks.0.num_iters': 2
    },
}

#: The FCN schedule of the benchmark, the config's 500 iterations scaled by :func:`segmentation_schedule`: chosen on
#: random init's train loss (docs/finetune_benchmark.md, never on val): at 500 it was still falling steeply (1.00 ->
#: 0.70 over the run), at 2000 by 0.02 over the last 200 iterations before the first step; a longer one does not fit
#: the benchmark's CPU budget (about 14 minutes a run on 2 cores).
SEGMENTATION_ITERS = 2000


def segmentation_schedule(iters: int) -> Dict[str, object]:
    """``--cfg-options`` that give the FCN config's schedule another length, its shape kept (the parent's, scaled:
    warm-up over the first 1/90, steps at 70 % and 90 %), for a study of how long random init needs."""
    if iters < 90:
        raise ValueError(f'{iters} iterations: the warm-up is 1/90 of the schedule, so it needs at least 90')
    return {
        'train_cfg.max_iters': iters, 'train_cfg.val_interval': iters, 'param_scheduler.0.end': iters // 90,
        'param_scheduler.1.milestones': [iters * 7 // 10, iters * 9 // 10], 'param_scheduler.1.end': iters,
        'default_hooks.checkpoint.interval': iters
    }


#: What the fine-tuning runs' results depend on besides the config and the weights: this code and the libraries.
CODE = ('mmpcd/downstream', 'mmpcd/export.py', 'mmpcd/fileio.py', 'tools/train.py', 'mmpcd/apis')


def code_digest() -> str:
    """sha256 of the fine-tuning code (:data:`CODE`) and of the versions of the libraries that run it."""
    import mmcv
    import mmdet
    import mmengine
    import mmseg
    versions = (f'torch {torch.__version__} mmengine {mmengine.__version__} mmcv {mmcv.__version__} '
                f'mmdet {mmdet.__version__} mmseg {mmseg.__version__}')
    return hashlib.sha256((files_digest(source_files(CODE)) + versions).encode()).hexdigest()


def finetune_key(config: Config, student: str, seed: int, code: str) -> dict:
    """What decides a fine-tuning run's result: its resolved config (without the student's path), the student's
    tensors, the seed and the code (:func:`code_digest`); ``digest`` names its folder."""
    key = dict(config=hashlib.sha256(config.pretty_text.encode()).hexdigest(),
               student=state_digest(load_checkpoint_file(student,
                                                         'exported student')['state_dict']), seed=seed, code=code)
    key['digest'] = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()
    return key


def export(checkpoint: str, out: str, norm_rescale: bool) -> None:
    """The student backbone of ``checkpoint`` exported to ``out`` by ``tools/model_converters/export_student.py``."""
    cmd = [
        sys.executable,
        osp.join(REPO_ROOT, 'tools', 'model_converters', 'export_student.py'), checkpoint, out, '--force'
    ]
    done = subprocess.run(cmd + (['--norm-rescale', '0.25'] if norm_rescale else []), cwd=REPO_ROOT,
                          capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f'the export failed (exit {done.returncode}): {" ".join(cmd)}\n{done.stderr[-3000:]}')


def training_losses(run_dir: str) -> List[List[float]]:
    """``[iteration, loss]`` of every logged training iteration of a run (its ``scalars.json``)."""
    return [[r['iter'], r['loss']] for r in scalar_records(run_dir) if 'loss' in r and 'iter' in r]


#: What mmdet's CocoMetric logs when no detection passed the test score threshold (it then logs no metric).
NOTHING_DETECTED = 'The testing results of the whole dataset is empty'


def final_metrics(run_dir: str, keys: List[str]) -> Dict[str, float]:
    """The metrics of a run's final evaluation (:func:`~.downstream.last_metrics`); an evaluation that ran and found
    nothing (mmdet's CocoMetric, no detection above the score threshold) scores 0 for each, as COCO's AP would."""
    try:
        return last_metrics(run_dir, keys)
    except RuntimeError:
        with open(osp.join(run_dir, 'train.log')) as f:
            if NOTHING_DETECTED not in f.read():
                raise
        print(f'{run_dir}: nothing detected on val, AP 0', flush=True)
        return {key: 0.0 for key in keys}


def finetune(task_name: str, checkpoint: str, work_dir: str, seed: int, options: Dict[str, object]) -> dict:
    """Export ``checkpoint``'s student for a task, fine-tune it and score it on val; a finished run of the same key is
    reused.

    Returns:
        ``dict(metrics={column: value in %}, losses=[[iteration, loss]], seconds=wall time, run_dir=...)``.

    Raises:
        CheckpointMismatchError: the export would leave the backbone partly random.
        RuntimeError: the export or the fine-tuning failed (naming its log).
    """
    task = TASKS[task_name]
    os.makedirs(work_dir, exist_ok=True)
    student = osp.join(work_dir, 'student.pth')
    export(checkpoint, student, task.norm_rescale)
    cfg = Config.fromfile(task.config)
    cfg.merge_from_dict(options)
    key = finetune_key(cfg, student, seed, code_digest())
    run_dir = osp.join(work_dir, key['digest'][:16])
    result_file = osp.join(run_dir, 'result.json')
    if osp.isfile(result_file):
        with open(result_file) as f:
            print(f'{run_dir}: reusing its finished fine-tuning', flush=True)
            return {**json.load(f), 'run_dir': run_dir}  # where it is now: the work dir may have moved since
    os.makedirs(run_dir, exist_ok=True)
    with open(osp.join(run_dir, 'finetune_key.json'), 'w') as f:
        json.dump(key, f, indent=1)
    student_options = {'model.backbone.init_cfg.checkpoint': student}
    cfg.merge_from_dict(student_options)
    check_pretrained_inits(cfg)
    cmd = [
        sys.executable,
        osp.join(REPO_ROOT, 'tools', 'train.py'), task.config, '--work-dir', run_dir, '--seed',
        str(seed), '--cfg-options', *[f'{k}={v}' for k, v in {**options, **student_options}.items()]
    ]
    start = time.time()
    with open(osp.join(run_dir, 'train.log'), 'w') as log:
        done = subprocess.run(cmd, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT)
    if done.returncode:
        raise RuntimeError(f'fine-tuning failed (exit {done.returncode}): {" ".join(cmd)}; see {run_dir}/train.log')
    metrics = final_metrics(run_dir, list(task.metrics))
    result = dict(metrics={column: metrics[key] * task.scale
                           for key, column in task.metrics.items()}, losses=training_losses(run_dir),
                  seconds=time.time() - start, run_dir=run_dir)
    with atomic_write(result_file, 'w') as f:
        json.dump(result, f)
    return result


def run(work_dir: str, pretrain_dir: str, rows: Sequence[str], seeds: Sequence[int], tasks: Sequence[str],
        quick: bool = False, segmentation_iters: int = SEGMENTATION_ITERS) -> dict:
    """Pre-train (or reuse) each row's student for each seed, fine-tune it on each task; the results, also written to
    ``work_dir/results.json`` after every run.

    Args:
        work_dir: Where the fine-tuning runs go.
        pretrain_dir: The dense benchmark's work dir, whose finished pre-training runs are reused.
        rows: Of :data:`ROWS`.
        seeds: Pre-training seeds; each student is fine-tuned with its own seed.
        tasks: Of :data:`TASKS`.
        quick: The short pre-training and fine-tunings of the test (:data:`QUICK_FINETUNE`, whatever
            ``segmentation_iters`` says).
        segmentation_iters: The FCN schedule's length (:func:`segmentation_schedule`).
    """
    pretrain_options = dict(dense.QUICK_OPTIONS) if quick else {}
    results: dict = dict(seeds=list(seeds), tasks={t: {row: [] for row in rows} for t in tasks})
    for seed in seeds:
        students: Dict[str, str] = {}
        for row in rows:
            config = dense.ROWS['PCD' if row == RANDOM else row]
            cfg = Config.fromfile(config)
            cfg.merge_from_dict(pretrain_options)
            run_dir = osp.join(pretrain_dir, run_dir_name('PCD' if row == RANDOM else row, seed))
            _, init_ckpt = save_init(cfg, run_dir, seed)
            students[row] = init_ckpt if row == RANDOM else train(config, run_dir, seed, init_ckpt, pretrain_options,
                                                                  cfg.train_cfg.max_epochs)
        for task in tasks:
            for row, checkpoint in students.items():
                options = QUICK_FINETUNE[task] if quick else {}
                if task == 'segmentation' and not quick:
                    options = segmentation_schedule(segmentation_iters)
                result = finetune(task, checkpoint, osp.join(work_dir, task, run_dir_name(row, seed)), seed, options)
                results['tasks'][task][row].append(result)
                print(f'seed {seed}, {task}, {row}: ' + ', '.join(f'{k} {v:.1f}' for k, v in result['metrics'].items()),
                      flush=True)
                with atomic_write(osp.join(work_dir, 'results.json'), 'w') as f:
                    json.dump(results, f)
    return results


#: Logged iterations (every 10th) averaged for the table's first and last training loss.
LOSS_WINDOW = 5


def table(results: dict) -> str:
    """The results as a markdown table: every metric of every task, mean ± sd over seeds, runs, the training loss at
    the start and the end (has the schedule flattened it?) and wall time."""
    columns = [(task, column) for task in results['tasks'] for column in TASKS[task].metrics.values()]
    rows = list(dict.fromkeys(row for per_row in results['tasks'].values() for row in per_row))
    lines = [
        '| row | ' + ' | '.join(f'{column} (%)' for _, column in columns) + ' | runs | train loss, first / last '
        f'{LOSS_WINDOW} logged iterations ({", ".join(results["tasks"])}) | minutes a run |',
        '|---' * (len(columns) + 4) + '|'
    ]
    for row in rows:
        cells, runs, minutes, losses = [], set(), [], []
        for task, column in columns:
            values = [r['metrics'][column] for r in results['tasks'][task].get(row, [])]
            if len(values) > 1:
                cells.append('{:.1f} ± {:.1f}'.format(*mean_std(values)))
            else:  # one run: its value, no sd of one
                cells.append(f'{values[0]:.1f}' if values else '-')
            runs.add(len(values))
        for task in results['tasks']:
            done = results['tasks'][task].get(row, [])
            minutes.append(f'{sum(r["seconds"] for r in done) / 60 / len(done):.1f}' if done else '-')
            curves = [[loss for _, loss in r['losses']] for r in done if r.get('losses')]
            losses.append('{:.2f} / {:.2f}'.format(*(sum(sum(c[part]) / len(c[part]) for c in curves) / len(curves)
                                                     for part in (slice(LOSS_WINDOW),
                                                                  slice(-LOSS_WINDOW, None)))) if curves else '-')
        lines.append(f'| {row} | ' + ' | '.join(cells) + f' | {"/".join(map(str, sorted(runs)))} | '
                     f'{"; ".join(losses)} | {" / ".join(minutes)} |')
    return '\n'.join(lines)


def per_seed(results: dict) -> Dict[str, Dict[str, List[float]]]:
    """``{row: {column: [value of each seed]}}``."""
    out: Dict[str, Dict[str, List[float]]] = {}
    for task, per_row in results['tasks'].items():
        for row, runs in per_row.items():
            for column in TASKS[task].metrics.values():
                out.setdefault(row, {})[column] = [r['metrics'][column] for r in runs]
    return out


def summary_line(results: dict, row: str, baseline: str, column: str) -> Optional[str]:
    """``row`` minus ``baseline`` in ``column``, seed by seed, with both rows' mean and sd."""
    values = per_seed(results)
    a, b = values.get(row, {}).get(column), values.get(baseline, {}).get(column)
    if not a or not b:
        return None
    differences = [x - y for x, y in zip(a, b)]
    return (f'{row} - {baseline}, {column}: ' + ', '.join(f'{d:+.1f}' for d in differences) +
            ' (means {:.1f} ± {:.1f} and {:.1f} ± {:.1f})'.format(*mean_std(a), *mean_std(b)))


#: Val images drawn in the figures of predictions (the dense benchmark's).
FIGURE_IMAGES = dense.FIGURE_IMAGES


def fine_tuned_model(task_name: str, run_dir: str) -> torch.nn.Module:
    """The model a fine-tuning run ended with, in eval mode, its config (``model.cfg``) the run's own dump."""
    cfg = Config.fromfile(glob.glob(osp.join(run_dir, '*', 'vis_data', 'config.py'))[0])
    cfg.model.backbone.init_cfg = None
    if task_name == 'segmentation':
        from mmseg.apis import init_model
        model = init_model(cfg, device='cpu')
    else:
        from mmdet.apis import init_detector
        model = init_detector(cfg, device='cpu')
    model.dataset_meta = dict(cfg.train_dataloader.dataset.metainfo)  # without a checkpoint, init_* guess COCO's
    model.load_state_dict(load_checkpoint_file(last_checkpoint(run_dir), 'fine-tuned checkpoint')['state_dict'])
    return model.eval()


def figures(results: dict, out: str) -> List[str]:
    """The bars of every metric with the seed spread (``{out}_scores.png``) and the first seed's predictions on the
    figure's val images beside the truth: label maps (``{out}_segmentation.png``) and each model's top-scoring object
    with its mask and box (``{out}_instances.png``); the paths written."""
    import numpy as np
    import pycocotools.mask as mask_utils
    from PIL import Image

    from ..datasets.dense_labels import dense_pairs
    from ..visualization.dense import Instance, plot_dense_predictions, plot_instance_predictions, plot_miou_bars

    written = [f'{out}_scores.png']
    done = max(len(runs) for per_row in results['tasks'].values() for runs in per_row.values())
    plot_miou_bars(per_seed(results), written[0], f'pets_mini val after fine-tuning; seeds {results["seeds"][:done]}',
                   ylabel='val score (%)')
    pairs = [dense_pairs(dense.DATA_ROOT, 'val')[i] for i in FIGURE_IMAGES]
    images = [image for image, _ in pairs]
    tasks = results['tasks']
    if 'segmentation' in tasks:
        from mmseg.apis import inference_model
        maps = {}
        for row, runs in tasks['segmentation'].items():
            model = fine_tuned_model('segmentation', runs[0]['run_dir'])
            maps[row] = [inference_model(model, image).pred_sem_seg.data[0].numpy() for image in images]
        written.append(f'{out}_segmentation.png')
        plot_dense_predictions(images, [np.asarray(Image.open(label)) for _, label in pairs], maps, written[-1])
    if 'instances' in tasks:
        from mmdet.apis import inference_detector
        with open(osp.join(dense.DATA_ROOT, 'annotations', 'instances_val.json')) as f:
            coco = json.load(f)
        names = {c['id']: c['name'] for c in coco['categories']}
        by_file = {im['file_name']: im['id'] for im in coco['images']}
        truth = {a['image_id']: a for a in coco['annotations']}
        drawn: Dict[str, list] = {'ground truth': []}
        for image in images:
            ann = truth[by_file[osp.relpath(image, dense.DATA_ROOT)]]
            seg = dict(size=ann['segmentation']['size'], counts=ann['segmentation']['counts'].encode())
            x, y, w, h = ann['bbox']
            drawn['ground truth'].append(
                Instance(mask_utils.decode(seg).astype(bool), (x, y, x + w, y + h), names[ann['category_id']]))
        for row, runs in tasks['instances'].items():
            model = fine_tuned_model('instances', runs[0]['run_dir'])
            classes = model.dataset_meta['classes']
            drawn[row] = []
            for image in images:
                found = inference_detector(model, image).pred_instances
                if len(found.scores) == 0:
                    drawn[row].append(None)
                    continue
                best = int(found.scores.argmax())
                drawn[row].append(
                    Instance(found.masks[best].numpy().astype(bool), found.bboxes[best].tolist(),
                             f'{classes[int(found.labels[best])]} {float(found.scores[best]):.2f}'))
        written.append(f'{out}_instances.png')
        plot_instance_predictions(images, drawn, written[-1])
    return written
