"""Where the time and memory of PCD pre-training go, on the current device, measured in one run.

Prints four tables:
  1. the pixel-wise loss alone (forward + backward): time and peak memory of the memory-efficient
     ``pixel_contrast_loss`` and of the straightforward ``pixel_contrast_loss_dense``, and their ratios;
  2. the machine's ceiling: the rate of a large matrix product on the same device and threads;
  3. one full train step, broken down (teacher forward, student forward, loss + queue, backward,
     optimizer step), in both memory layouts (default and channels-last, ``model.channels_last`` and
     ``model.teacher.channels_last``): time, FLOPs and achieved GFLOP/s of each part and of the whole
     step (``model.train_step``), its fraction of the ceiling, images per second, peak memory;
  4. the data pipeline (BYOL's two views) in images per second for one worker, against the step's.

    python tools/analysis_tools/benchmark_pcd.py                       # R18 / MoCo v3 R50, 224 px
    python tools/analysis_tools/benchmark_pcd.py --batch 128 --amp     # on a GPU

FLOPs are counted by ``torch.utils.flop_counter.FlopCounterMode`` (matrix products, convolutions and
attention, forward and backward, a multiply-add counted as 2; element-wise work is not counted). The
teacher has random weights in its released layout (speed does not depend on them), or is the file a
package ships (EfficientNet-Lite0). On a CPU peak memory
is the rise of the process's peak resident set, each loss measured in a fresh process; on a GPU it is
``torch.cuda.max_memory_allocated``.
"""
import argparse
import copy
import json
import os
import os.path as osp
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Callable, Dict, List, Optional

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope

from mmpcd.models import pixel_contrast_loss, pixel_contrast_loss_dense
from mmpcd.models.algorithms.widths import follow_teacher
from mmpcd.models.teachers import PACKAGED_CHECKPOINTS, RANDOM_CHECKPOINTS
from mmselfsup.registry import DATASETS, MODELS
from mmselfsup.structures import SelfSupDataSample

LOSSES = dict(efficient=pixel_contrast_loss, straightforward=pixel_contrast_loss_dense)
LAYOUTS = {'default': False, 'channels-last': True}
PARTS = ('teacher_forward', 'student_forward', 'loss_and_queue', 'student_backward', 'optimizer_step')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--config', default='configs/pcd_r18.py')
    parser.add_argument('--batch', type=int, default=16, help='images per process for the train step')
    parser.add_argument('--img-size', type=int, default=224)
    parser.add_argument('--loss-batch', type=int, default=32, help='N for the loss-only measurement')
    parser.add_argument('--repeats', type=int, default=3, help='timed repetitions (median reported)')
    parser.add_argument('--pipeline-images', type=int, default=48)
    parser.add_argument('--amp', action='store_true', help='fp16 autocast (GPU only, as AmpOptimWrapper)')
    parser.add_argument('--loss-worker', choices=sorted(LOSSES), help=argparse.SUPPRESS)
    return parser.parse_args()


def device() -> torch.device:
    return torch.device('cuda' if torch.cuda.is_available() else 'cpu')


def sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def stopwatch(fn: Callable[[], object]) -> float:
    """Wall time of one call of ``fn``."""
    sync()
    start = time.perf_counter()
    fn()
    sync()
    return time.perf_counter() - start


def timed(fn: Callable[[], object], repeats: int) -> float:
    """Median wall time of ``fn`` over ``repeats`` runs after one warm-up."""
    fn()
    return statistics.median(stopwatch(fn) for _ in range(repeats))


def head_cfg(cfg: Config) -> dict:
    """The model's head config with the widths that follow the teacher (``feat_dim``) filled in."""
    model = cfg.model
    return Config(follow_teacher(model.teacher, model.neck, model.head, model.get('attention'))[1])


def flops(fn: Callable[[], object]) -> int:
    """Floating-point operations of one call of ``fn`` (FlopCounterMode's count)."""
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def matmul_rate(amp: bool, repeats: int) -> float:
    """GFLOP/s of a large square matrix product (fp16 under ``--amp``): the machine's ceiling."""
    dev = device()
    n = 8192 if dev.type == 'cuda' else 2048
    dtype = torch.float16 if amp else torch.float32
    a, b = (torch.randn(n, n, device=dev, dtype=dtype) for _ in range(2))
    return 2 * n**3 / timed(lambda: a @ b, repeats) / 1e9


def rss_bytes() -> int:
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')


def loss_worker(args: argparse.Namespace, cfg: Config) -> Dict[str, float]:
    """Time and peak memory of one loss, forward + backward (run in its own process on a CPU)."""
    torch.manual_seed(0)
    dev = device()
    head = head_cfg(cfg)
    feat = 7 * args.img_size // 224
    student = torch.randn(args.loss_batch, head.feat_dim, feat, feat, device=dev, requires_grad=True)
    teacher = torch.randn(args.loss_batch, head.feat_dim, feat, feat, device=dev)
    queue = F.normalize(torch.randn(head.feat_dim, head.queue_len, device=dev), dim=0)
    loss_fn = LOSSES[args.loss_worker]

    def step():
        with torch.autocast(dev.type, dtype=torch.float16, enabled=args.amp):
            loss = loss_fn(student, teacher, queue, head.temperature)
        loss.backward()
        student.grad = None

    if dev.type == 'cuda':
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        step()
        peak = torch.cuda.max_memory_allocated() - base
    else:
        base = rss_bytes()
        step()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - base
    return dict(time=timed(step, args.repeats), peak=peak)


def measure_losses(args: argparse.Namespace, cfg: Config) -> Dict[str, Dict[str, float]]:
    results = {}
    for name in LOSSES:
        cmd = [sys.executable, __file__, '--config', args.config, '--loss-worker', name,
               '--loss-batch', str(args.loss_batch), '--img-size', str(args.img_size),
               '--repeats', str(args.repeats)] + (['--amp'] if args.amp else [])
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        results[name] = json.loads(out.strip().splitlines()[-1])
    return results


def build_model(cfg: Config, teacher_ckpt: Optional[str], queue_len: int, channels_last: bool) -> torch.nn.Module:
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.teacher_ckpt = teacher_ckpt
    model_cfg.head.queue_len = queue_len
    model_cfg.channels_last = model_cfg.teacher.channels_last = channels_last
    model = MODELS.build(model_cfg).to(device())
    model.init_weights()
    return model.train()


def measure_step(args: argparse.Namespace, cfg: Config, teacher_ckpt: Optional[str],
                 channels_last: bool) -> Dict[str, Dict[str, float]]:
    """Seconds and FLOPs of the parts of one train step and of the whole step (``model.train_step``),
    and the step's peak memory in bytes (GPU only)."""
    views = 2 if cfg.model.get('symmetric', True) else 1
    queue_len = cfg.model.head.queue_len // (args.batch * views) * (args.batch * views)
    model = build_model(cfg, teacher_ckpt, max(queue_len, args.batch * views), channels_last)
    optim_cfg = copy.deepcopy(cfg.optim_wrapper)
    if args.amp:
        optim_cfg.update(type='AmpOptimWrapper', loss_scale='dynamic')
    optim_wrapper = build_optim_wrapper(model, optim_cfg)
    images = torch.randint(0, 256, (args.batch, 3, args.img_size, args.img_size), dtype=torch.uint8)
    data = dict(inputs=[images] * views, data_samples=[SelfSupDataSample() for _ in range(args.batch)])
    inputs, _ = model.data_preprocessor(data, True)
    state: Dict[str, object] = {}

    def teacher():
        state['teacher'] = model.teacher(torch.cat(inputs)).chunk(views)

    def student():
        with optim_wrapper.optim_context(model):
            state['student'] = [model.student_forward(v) for v in inputs]

    def loss_and_queue():
        with optim_wrapper.optim_context(model):
            losses = [model.head.loss(s, t) for s, t in zip(state['student'], state['teacher'])]
        model.head.enqueue(torch.cat(state['teacher']))
        state['loss'] = sum(losses) / len(losses)

    def backward():
        optim_wrapper.backward(state['loss'])

    def optimizer():
        optim_wrapper.step()
        optim_wrapper.zero_grad()

    def train_step():
        model.train_step(data, optim_wrapper)

    counts = dict(teacher_forward=flops(teacher), student_forward=flops(student),
                  loss_and_queue=flops(loss_and_queue), student_backward=flops(backward),
                  optimizer_step=flops(optimizer), train_step=flops(train_step))
    times = dict(teacher_forward=timed(teacher, args.repeats), student_forward=timed(student, args.repeats),
                 loss_and_queue=timed(loss_and_queue, args.repeats))
    backward_times, optimizer_times = [], []
    for _ in range(args.repeats + 1):  # the first round warms up
        student()
        loss_and_queue()
        backward_times.append(stopwatch(backward))
        optimizer_times.append(stopwatch(optimizer))
    times['student_backward'] = statistics.median(backward_times[1:])
    times['optimizer_step'] = statistics.median(optimizer_times[1:])
    if device().type == 'cuda':
        torch.cuda.reset_peak_memory_stats()
    times['train_step'] = timed(train_step, args.repeats)
    peak = torch.cuda.max_memory_allocated() if device().type == 'cuda' else float('nan')
    return dict(time=times, flops=counts, peak=peak)


def measure_pipeline(args: argparse.Namespace, cfg: Config) -> float:
    """Images per second through the BYOL two-view pipeline in one process (one data worker)."""
    demo = Config.fromfile('configs/pcd_r18_demo.py').train_dataloader.dataset
    demo.pipeline = copy.deepcopy(cfg.train_dataloader.dataset.pipeline)
    for view in demo.pipeline[1]['transforms']:
        view[0]['size'] = args.img_size
    dataset = DATASETS.build(demo)
    dataset[0]
    start = time.perf_counter()
    for i in range(args.pipeline_images):
        dataset[i % len(dataset)]
    return args.pipeline_images / (time.perf_counter() - start)


def table(rows: List[List[str]]) -> str:
    lines = ['| ' + ' | '.join(rows[0]) + ' |', '|' + '---|' * len(rows[0])]
    return '\n'.join(lines + ['| ' + ' | '.join(r) + ' |' for r in rows[1:]])


def main() -> None:
    args = parse_args()
    MMLogger.get_instance('benchmark_pcd', log_level='WARNING')  # model-building logs stay out of the tables
    init_default_scope('mmselfsup')
    cfg = Config.fromfile(args.config)
    if args.loss_worker:
        print(json.dumps(loss_worker(args, cfg)))
        return
    dev = device()
    name = torch.cuda.get_device_name() if dev.type == 'cuda' else f'{platform.processor() or "CPU"}, ' \
        f'{os.cpu_count()} cores, {torch.get_num_threads()} threads'
    head = head_cfg(cfg)
    feat = 7 * args.img_size // 224
    print(f'# PCD benchmark: {time.strftime("%Y-%m-%d")}, {name}, torch {torch.__version__}, '
          f'config {args.config}, AMP {"on" if args.amp else "off"}\n')

    losses = measure_losses(args, cfg)
    eff, dense = losses['efficient'], losses['straightforward']
    print(f'## 1. Pixel-wise loss, forward + backward (N={args.loss_batch}, {feat}x{feat}, C={head.feat_dim}, '
          f'K={head.queue_len})\n')
    print(table([['loss', 'time (s)', 'peak memory (MiB)'],
                 ['straightforward', f'{dense["time"]:.3f}', f'{dense["peak"] / 2**20:.0f}'],
                 ['memory-efficient', f'{eff["time"]:.3f}', f'{eff["peak"] / 2**20:.0f}'],
                 ['ratio efficient / straightforward', f'{eff["time"] / dense["time"]:.2f}',
                  f'{eff["peak"] / dense["peak"]:.3f}']]))

    ceiling = matmul_rate(args.amp, args.repeats)
    print(f'\n## 2. The ceiling: a square matrix product, {"fp16" if args.amp else "fp32"}\n')
    print(f'{ceiling:.0f} GFLOP/s')

    with tempfile.TemporaryDirectory() as tmp:
        fmt = cfg.model.get('teacher_ckpt_format', 'mocov3')
        teacher_ckpt = None  # a format whose checkpoint a package ships (EfficientNet-Lite0): that real file
        if fmt not in PACKAGED_CHECKPOINTS:
            teacher_ckpt = osp.join(tmp, 'teacher.pth.tar')
            torch.save(RANDOM_CHECKPOINTS[fmt](0), teacher_ckpt)
        steps = {name: measure_step(args, cfg, teacher_ckpt, channels_last) for name, channels_last in LAYOUTS.items()}
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

    pipeline_rate = measure_pipeline(args, cfg)
    print(f'\n## 4. Data pipeline (BYOL two views, {args.img_size} px, one worker)\n')
    print(table([['', 'images per second'], ['pipeline, one worker', f'{pipeline_rate:.1f}'],
                 ['train step', f'{step_rate:.1f}'],
                 ['workers needed to keep up', f'{step_rate / pipeline_rate:.2f}']]))


if __name__ == '__main__':
    main()
