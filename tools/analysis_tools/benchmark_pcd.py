"""Where the time and memory of PCD pre-training go, on the current device, measured in one run.

Prints four tables:
  1. the pixel-wise loss alone (forward + backward): time and peak memory of the memory-efficient
     ``pixel_contrast_loss`` and of the straightforward ``pixel_contrast_loss_dense``, and their ratios;
  2. the machine's ceiling: the rate of a large matrix product on the same device and threads;
  3. one full train step, broken down (teacher forward, student forward, loss + queue, backward,
     optimizer step), in both memory layouts (default and channels-last, ``model.channels_last`` and
     ``model.teacher.channels_last``): time, FLOPs and achieved GFLOP/s of each part and of the whole
     step (``model.train_step``), its fraction of the ceiling, images per second, peak memory;
  4. the data pipeline in images per second for one worker, against the step's: BYOL's two views (the CPU path)
     and reading and decoding alone (the device path's workers);
  5. end to end: train steps fed by the data loader from real JPEGs of about ImageNet's size (the shipped COCO
     images at full size), through the CPU path (workers augment) and the device path (workers decode and draw
     the views' parameters, the data preprocessor augments the batch on the device: docs/device_augment.md), each
     with --workers workers, as a fraction of the synthetic-input step rate of part 3.

    python tools/analysis_tools/benchmark_pcd.py                       # R18 / MoCo v3 R50, 224 px
    python tools/analysis_tools/benchmark_pcd.py --batch 128 --amp     # on a GPU

The measurements are ``mmpcd.benchmarks.train_step``'s. FLOPs are counted by
``torch.utils.flop_counter.FlopCounterMode`` (matrix products, convolutions and
attention, forward and backward, a multiply-add counted as 2; element-wise work is not counted). The
teacher has random weights in its released layout (speed does not depend on them), or is the file a
package ships (EfficientNet-Lite0). On a CPU peak memory
is the rise of the process's peak resident set, each loss measured in a fresh process; on a GPU it is
``torch.cuda.max_memory_allocated``.
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from typing import Dict

import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope

from mmpcd.benchmarks.train_step import (LOSSES, PARTS, benchmark_teacher, device, device_augment_path, head_cfg,
                                         matmul_rate, measure_end_to_end, measure_loss, measure_pipeline, measure_step,
                                         table)

LAYOUTS = {'default': False, 'channels-last': True}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--config', default='configs/pcd_r18.py')
    parser.add_argument('--batch', type=int, default=16, help='images per process for the train step')
    parser.add_argument('--img-size', type=int, default=224)
    parser.add_argument('--loss-batch', type=int, default=32, help='N for the loss-only measurement')
    parser.add_argument('--repeats', type=int, default=3, help='timed repetitions (median reported)')
    parser.add_argument('--pipeline-images', type=int, default=48)
    parser.add_argument('--amp', action='store_true', help='fp16 autocast (GPU only, as AmpOptimWrapper)')
    parser.add_argument('--workers', type=int, default=os.cpu_count(),
                        help='data workers of the end-to-end measurement (default: one a core)')
    parser.add_argument('--e2e-steps', type=int, default=5, help='timed steps of the end-to-end measurement')
    parser.add_argument('--loss-worker', choices=sorted(LOSSES), help=argparse.SUPPRESS)
    return parser.parse_args()


def measure_losses(args: argparse.Namespace) -> Dict[str, Dict[str, float]]:
    """Each loss of LOSSES measured in a fresh process of this script (``--loss-worker``)."""
    results = {}
    for name in LOSSES:
        cmd = [
            sys.executable, __file__, '--config', args.config, '--loss-worker', name, '--loss-batch',
            str(args.loss_batch), '--img-size',
            str(args.img_size), '--repeats',
            str(args.repeats)
        ] + (['--amp'] if args.amp else [])
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        results[name] = json.loads(out.strip().splitlines()[-1])
    return results


def main() -> None:
    args = parse_args()
    MMLogger.get_instance('benchmark_pcd', log_level='WARNING')  # model-building logs stay out of the tables
    init_default_scope('mmselfsup')
    cfg = Config.fromfile(args.config)
    if args.loss_worker:
        print(json.dumps(measure_loss(cfg, args.loss_worker, args.loss_batch, args.img_size, args.repeats, args.amp)))
        return
    dev = device()
    name = torch.cuda.get_device_name() if dev.type == 'cuda' else f'{platform.processor() or "CPU"}, ' \
        f'{os.cpu_count()} cores, {torch.get_num_threads()} threads'
    head = head_cfg(cfg)
    feat = 7 * args.img_size // 224
    print(f'# PCD benchmark: {time.strftime("%Y-%m-%d")}, {name}, torch {torch.__version__}, '
          f'config {args.config}, AMP {"on" if args.amp else "off"}\n')

    losses = measure_losses(args)
    eff, dense = losses['efficient'], losses['straightforward']
    print(f'## 1. Pixel-wise loss, forward + backward (N={args.loss_batch}, {feat}x{feat}, C={head.feat_dim}, '
          f'K={head.queue_len})\n')
    print(
        table([['loss', 'time (s)', 'peak memory (MiB)'],
               ['straightforward', f'{dense["time"]:.3f}', f'{dense["peak"] / 2**20:.0f}'],
               ['memory-efficient', f'{eff["time"]:.3f}', f'{eff["peak"] / 2**20:.0f}'],
               [
                   'ratio efficient / straightforward', f'{eff["time"] / dense["time"]:.2f}',
                   f'{eff["peak"] / dense["peak"]:.3f}'
               ]]))

    ceiling = matmul_rate(args.amp, args.repeats)
    print(f'\n## 2. The ceiling: a square matrix product, {"fp16" if args.amp else "fp32"}\n')
    print(f'{ceiling:.0f} GFLOP/s')

    with tempfile.TemporaryDirectory() as tmp:
        teacher_ckpt = benchmark_teacher(cfg, tmp)
        steps = {
            name: measure_step(cfg, teacher_ckpt, channels_last, args.batch, args.img_size, args.repeats, args.amp)
            for name, channels_last in LAYOUTS.items()
        }
        print(f'\n## 3. One train step ({args.batch} images x 2 views, {args.img_size} px, one process)\n')
        header = ['part', 'GFLOP'] + [f'{name}: {col}' for name in steps for col in ('time (s)', 'GFLOP/s', 'share')]
        rows = [header]
        for part in PARTS + ('sum of the parts', 'train_step'):
            count = steps['default']['flops'].get(part, sum(steps['default']['flops'][p] for p in PARTS))
            row = [part.replace('_', ' ').replace('train step', 'whole step (model.train_step)'), f'{count / 1e9:.1f}']
            for step in steps.values():
                total = sum(step['time'][p] for p in PARTS)
                seconds = step['time'].get(part, total)
                row += [f'{seconds:.3f}', f'{count / seconds / 1e9:.0f}', f'{seconds / total:.0%}']
            rows.append(row)
        print(table(rows) + '\n')
        for name, step in steps.items():
            seconds = step['time']['train_step']
            memory = f', peak memory {step["peak"] / 2**30:.1f} GiB' if device().type == 'cuda' else ''
            print(f'{name}: {args.batch / seconds:.1f} images per second, the step at '
                  f'{step["flops"]["train_step"] / seconds / 1e9 / ceiling:.2f} of the ceiling{memory}')
        step_rate = args.batch / min(step['time']['train_step'] for step in steps.values())
        speedup = steps['default']['time']['train_step'] / steps['channels-last']['time']['train_step']
        print(f'channels-last / default speed of the step: {speedup:.2f}x')

        layout = min(steps, key=lambda name: steps[name]['time']['train_step'])
        paths = {'CPU path (workers augment)': cfg, 'device path (workers decode and draw)': device_augment_path(cfg)}
        pipeline_rates = {
            name: measure_pipeline(path_cfg, args.img_size, args.pipeline_images)
            for name, path_cfg in paths.items()
        }
        print(f'\n## 4. Data pipeline (BYOL two views, {args.img_size} px, one worker)\n')
        print(
            table([['', 'images per second, one worker', 'workers needed to keep up with the step'],
                   ['train step', f'{step_rate:.1f}', '-'],
                   *[[name, f'{rate:.1f}', f'{step_rate / rate:.2f}'] for name, rate in pipeline_rates.items()]]))

        rates = {
            name: measure_end_to_end(path_cfg, teacher_ckpt, LAYOUTS[layout], args.batch, args.img_size, args.workers,
                                     args.e2e_steps, args.amp, tmp)
            for name, path_cfg in paths.items()
        }
        print(f'\n## 5. End to end: real JPEGs (data/coco_mini at full size) through the loader and the train step '
              f'({args.batch} images x 2 views, {args.img_size} px, {layout}, {args.workers} workers)\n')
        print(
            table([['input', 'images per second', 'of the synthetic-input step'],
                   ['synthetic batch (part 3)', f'{step_rate:.1f}', '1.00'],
                   *[[name, f'{rate:.1f}', f'{rate / step_rate:.2f}'] for name, rate in rates.items()]]))


if __name__ == '__main__':
    main()
