"""One command per column of Table 1: export the student, fine-tune and evaluate it, over seeds.

    python tools/benchmarks/run_downstream.py voc07 work_dirs/pcd_r18/epoch_100.pth --gpus 8
    python tools/benchmarks/run_downstream.py cityscapes CKPT --gpus 8 --seeds 5

TASK is one of voc07, voc0712, coco-c4, coco-fpn, cityscapes, linear. The student backbone of CKPT (a
checkpoint of tools/train.py) is exported with tools/model_converters/export_student.py, with NormRescale 0.25
for the C4 and FCN tasks (Sec. 4.1); each seed runs tools/dist_train.sh (or tools/train.py with --gpus 0/1) on
the task's config in WORK_DIR/seed{N}; the metrics of the final evaluation are read back and printed as a table
with their mean and standard deviation (VOC and Cityscapes: 5 seeds by default, as in the paper).
"""
import argparse
import glob
import json
import os
import os.path as osp
import statistics
import subprocess
import sys
from typing import Dict, List

from mmpcd.paths import REPO_ROOT

BENCH = osp.join(REPO_ROOT, 'configs', 'benchmarks')
# task: config, NormRescale, whether the RoI head's shared head (C4) loads the student too, seeds, metrics
TASKS = {
    'voc07': ('mmdetection/voc0712/faster-rcnn_r18-c4_ms-9k_voc07.py', True, True, 5,
              ['pascal_voc/AP50', 'pascal_voc/mAP']),
    'voc0712': ('mmdetection/voc0712/faster-rcnn_r18-c4_ms-24k_voc0712.py', True, True, 5,
                ['pascal_voc/AP50', 'pascal_voc/mAP']),
    'coco-c4': ('mmdetection/coco/mask-rcnn_r18-c4_1x_coco.py', True, True, 1, ['coco/bbox_mAP', 'coco/segm_mAP']),
    'coco-fpn': ('mmdetection/coco/mask-rcnn_r18_fpn_1x_coco.py', False, False, 1, ['coco/bbox_mAP', 'coco/segm_mAP']),
    'cityscapes': ('mmsegmentation/cityscapes/fcn-bn-d6_r18-d16_90k_cityscapes.py', True, False, 5, ['mIoU']),
    'linear': ('classification/imagenet/resnet18_linear-8xb128-coslr-100e_in1k.py', False, False, 1, ['accuracy/top1']),
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('task', choices=sorted(TASKS))
    parser.add_argument('checkpoint', help='PCD checkpoint of tools/train.py')
    parser.add_argument('--gpus', type=int, default=8, help='processes (0 or 1: one process, no launcher)')
    parser.add_argument('--seeds', type=int, default=None, help='runs (default: 5 for VOC and Cityscapes, else 1)')
    parser.add_argument('--work-dir', default=None)
    parser.add_argument('--config', default=None, help="replace the task's config (e.g. a shorter one)")
    parser.add_argument('--cfg-options', nargs='+', default=[], help='passed on to tools/train.py')
    return parser.parse_args()


def last_metrics(work_dir: str, keys: List[str]) -> Dict[str, float]:
    """The metrics of the last evaluation in a run's scalars.json."""
    found: Dict[str, float] = {}
    for path in sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))):
        with open(path) as f:
            for line in f:
                record = json.loads(line)
                found.update({k: record[k] for k in keys if k in record})
    missing = [k for k in keys if k not in found]
    if missing:
        raise RuntimeError(f'no {missing} in the logs of {work_dir}: did the evaluation run?')
    return found


def main() -> None:
    args = parse_args()
    config, rescale, c4, seeds, keys = TASKS[args.task]
    config = args.config or osp.join(BENCH, config)
    work_dir = args.work_dir or osp.join('work_dirs', 'downstream', args.task)
    os.makedirs(work_dir, exist_ok=True)
    student = osp.join(work_dir, 'student.pth')
    subprocess.run([
        sys.executable,
        osp.join(REPO_ROOT, 'tools', 'model_converters', 'export_student.py'), args.checkpoint, student
    ] + (['--norm-rescale', '0.25'] if rescale else []), check=True)
    options = [f'model.backbone.init_cfg.checkpoint={student}'
               ] + ([f'model.roi_head.shared_head.init_cfg.checkpoint={student}'] if c4 else []) + args.cfg_options
    results = []
    for seed in range(args.seeds or seeds):
        run_dir = osp.join(work_dir, f'seed{seed}')
        if args.gpus > 1:
            cmd = ['bash', osp.join(REPO_ROOT, 'tools', 'dist_train.sh'), config, str(args.gpus)]
        else:
            cmd = [sys.executable, osp.join(REPO_ROOT, 'tools', 'train.py'), config]
        subprocess.run(cmd + ['--work-dir', run_dir, '--seed', str(seed), '--cfg-options', *options], check=True)
        results.append(last_metrics(run_dir, keys))
    print(f'\n{args.task}: {config}, {len(results)} run(s)\n')
    print('| metric | ' + ' | '.join(f'seed {i}' for i in range(len(results))) + ' | mean | std |')
    print('|---' * (len(results) + 3) + '|')
    summary = {}
    for key in keys:
        values = [r[key] for r in results]
        std = statistics.stdev(values) if len(values) > 1 else 0.
        summary[key] = dict(mean=statistics.mean(values), std=std, runs=values)
        print(f'| {key} | ' + ' | '.join(f'{v:.4g}' for v in values) + f' | {summary[key]["mean"]:.4g} | {std:.3g} |')
    with open(osp.join(work_dir, 'summary.json'), 'w') as f:
        json.dump(summary, f, indent=1)


if __name__ == '__main__':
    main()
