"""Where the time and memory of PCD pre-training go: the measurements of ``tools/analysis_tools/benchmark_pcd.py``.

FLOPs are counted by ``torch.utils.flop_counter.FlopCounterMode`` (matrix products, convolutions and attention,
forward and backward, a multiply-add counted as 2; element-wise work is not counted). Times are wall times on the
current device (``cuda`` when there is one), synchronized.
"""
import copy
import os
import os.path as osp
import resource
import statistics
import time
from typing import Callable, Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.optim import OptimWrapper, build_optim_wrapper
from mmengine.runner import Runner
from torch.utils.flop_counter import FlopCounterMode

from mmselfsup.registry import DATASETS, MODELS
from mmselfsup.structures import SelfSupDataSample
from ..datasets.seeded_sampler import SeededIndex
from ..models import pixel_contrast_loss, pixel_contrast_loss_dense
from ..models.algorithms.widths import follow_teacher
from ..models.teachers import TEACHER_FORMATS
from ..paths import REPO_ROOT
from ..testing import random_teacher

#: The losses compared: the memory-efficient one and the straightforward one.
LOSSES = dict(efficient=pixel_contrast_loss, straightforward=pixel_contrast_loss_dense)
#: The parts of one train step, in order.
PARTS = ('teacher_forward', 'student_forward', 'loss_and_queue', 'student_backward', 'optimizer_step')


def device() -> torch.device:
    """The device measured: the GPU when there is one, else the CPU."""
    return torch.device('cuda' if torch.cuda.is_available() else 'cpu')


def sync() -> None:
    """Wait for the GPU's queued work (nothing to wait for on a CPU)."""
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
    """The process's resident set now, in bytes (Linux)."""
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')


def measure_loss(cfg: Config, loss_name: str, batch: int, img_size: int, repeats: int, amp: bool) -> Dict[str, float]:
    """Time (median of ``repeats``) and peak memory (bytes) of one loss of :data:`LOSSES`, forward + backward, on
    random pixel maps of ``batch`` images of ``img_size`` px, with the head's width and queue of ``cfg``. On a CPU
    the peak is the process's peak resident set: run it in its own process."""
    torch.manual_seed(0)
    dev = device()
    head = head_cfg(cfg)
    feat = 7 * img_size // 224
    student = torch.randn(batch, head.feat_dim, feat, feat, device=dev, requires_grad=True)
    teacher = torch.randn(batch, head.feat_dim, feat, feat, device=dev)
    queue = F.normalize(torch.randn(head.feat_dim, head.queue_len, device=dev), dim=0)
    loss_fn = LOSSES[loss_name]

    def step():
        with torch.autocast(dev.type, dtype=torch.float16, enabled=amp):
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
    return dict(time=timed(step, repeats), peak=peak)


def build_model(cfg: Config, teacher_ckpt: Optional[str], queue_len: int, channels_last: bool) -> torch.nn.Module:
    """``cfg``'s model on :func:`device`, initialized and in train mode, with that teacher file, queue and layout."""
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.teacher_ckpt = teacher_ckpt
    model_cfg.head.queue_len = queue_len
    model_cfg.channels_last = model_cfg.teacher.channels_last = channels_last
    model = MODELS.build(model_cfg).to(device())
    model.init_weights()
    return model.train()


def benchmark_teacher(cfg: Config, work_dir: str) -> Optional[str]:
    """The teacher checkpoint to time ``cfg``'s model with (speed does not depend on the weights): for a format whose
    file a package ships, None (that real file); else a random checkpoint of the format, written in ``work_dir``."""
    teacher_format = TEACHER_FORMATS[cfg.model.get('teacher_ckpt_format', 'mocov3')]
    if teacher_format.packaged is not None:
        return None
    path = osp.join(work_dir, 'teacher.pth.tar')
    torch.save(random_teacher(teacher_format.name, 0), path)
    return path


def trainable_model(cfg: Config, teacher_ckpt: Optional[str], channels_last: bool, batch: int,
                    amp: bool) -> Tuple[torch.nn.Module, OptimWrapper]:
    """:func:`build_model` with a queue of whole batches (K rounded down to a multiple of the keys a step enqueues),
    and its optimizer wrapper (``AmpOptimWrapper`` with ``amp``)."""
    keys = batch * (2 if cfg.model.get('symmetric', True) else 1)
    model = build_model(cfg, teacher_ckpt, max(cfg.model.head.queue_len // keys, 1) * keys, channels_last)
    optim_cfg = copy.deepcopy(cfg.optim_wrapper)
    if amp:
        optim_cfg.update(type='AmpOptimWrapper', loss_scale='dynamic')
    return model, build_optim_wrapper(model, optim_cfg)


def measure_step(cfg: Config, teacher_ckpt: Optional[str], channels_last: bool, batch: int, img_size: int, repeats: int,
                 amp: bool) -> Dict[str, Dict[str, float]]:
    """Seconds and FLOPs of the parts of one train step and of the whole step (``model.train_step``),
    and the step's peak memory in bytes (GPU only)."""
    views = 2 if cfg.model.get('symmetric', True) else 1
    model, optim_wrapper = trainable_model(cfg, teacher_ckpt, channels_last, batch, amp)
    images = torch.randint(0, 256, (batch, 3, img_size, img_size), dtype=torch.uint8)
    data = dict(inputs=[images] * views, data_samples=[SelfSupDataSample() for _ in range(batch)])
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

    counts = dict(teacher_forward=flops(teacher), student_forward=flops(student), loss_and_queue=flops(loss_and_queue),
                  student_backward=flops(backward), optimizer_step=flops(optimizer), train_step=flops(train_step))
    times = dict(teacher_forward=timed(teacher, repeats), student_forward=timed(student, repeats),
                 loss_and_queue=timed(loss_and_queue, repeats))
    backward_times, optimizer_times = [], []
    for _ in range(repeats + 1):  # the first round warms up
        student()
        loss_and_queue()
        backward_times.append(stopwatch(backward))
        optimizer_times.append(stopwatch(optimizer))
    times['student_backward'] = statistics.median(backward_times[1:])
    times['optimizer_step'] = statistics.median(optimizer_times[1:])
    if device().type == 'cuda':
        torch.cuda.reset_peak_memory_stats()
    times['train_step'] = timed(train_step, repeats)
    peak = torch.cuda.max_memory_allocated() if device().type == 'cuda' else float('nan')
    return dict(time=times, flops=counts, peak=peak)


def measure_pipeline(cfg: Config, img_size: int, images: int) -> float:
    """Images per second through ``cfg``'s training pipeline (the CPU path's two views, or the device path's read and
    decode) in one process (one data worker), on the demo's images (data/coco_mini at full size)."""
    demo = Config.fromfile(osp.join(REPO_ROOT, 'configs', 'pcd_r18_demo.py')).train_dataloader.dataset
    demo.pipeline = copy.deepcopy(cfg.train_dataloader.dataset.pipeline)
    set_crop_size(demo.pipeline, img_size)
    dataset = DATASETS.build(demo)
    dataset[SeededIndex(0, 0)]
    start = time.perf_counter()
    for i in range(images):
        dataset[SeededIndex(i % len(dataset), i)]
    return images / (time.perf_counter() - start)


#: Real JPEGs of about ImageNet's size for the end-to-end measurement: the shipped COCO images (640 x 480 or so).
E2E_IMAGES = osp.join(REPO_ROOT, 'data', 'coco_mini', 'train')


def set_crop_size(node: object, size: int) -> None:
    """Set ``size`` of every ``RandomResizedCrop`` in a (nested) pipeline or views config, in place."""
    if isinstance(node, dict):
        if node.get('type') == 'RandomResizedCrop':
            node['size'] = size
        for value in node.values():
            set_crop_size(value, size)
    elif isinstance(node, list):
        for value in node:
            set_crop_size(value, size)


def device_augment_path(cfg: Config) -> Config:
    """``cfg`` with its views made by the data preprocessor on the model's device, as
    ``configs/_base_/datasets/imagenet_pcd_device_augment.py`` makes them from ``imagenet_pcd.py``: the same views
    (the ``MultiView`` step of the CPU pipeline), workers that read, decode and draw the views' parameters."""
    device_cfg = copy.deepcopy(cfg)
    load, views = cfg.train_dataloader.dataset.pipeline[:2]
    device_cfg.train_dataloader.dataset.pipeline = [load, dict(type='PackImageForDeviceAugment', views=views)]
    device_cfg.train_dataloader.collate_fn = dict(type='pseudo_collate')
    device_cfg.model.data_preprocessor = dict(cfg.model.data_preprocessor, type='DeviceAugmentDataPreprocessor',
                                              views=views)
    return device_cfg


def measure_end_to_end(cfg: Config, teacher_ckpt: Optional[str], channels_last: bool, batch: int, img_size: int,
                       workers: int, steps: int, amp: bool, work_dir: str) -> float:
    """Images per second of ``model.train_step`` fed by ``cfg``'s own train dataloader (its pipeline, collate,
    sampler and data preprocessor: the CPU path or the device path) with ``workers`` data workers, reading and
    decoding the real JPEGs of :data:`E2E_IMAGES` at their full size, listed as often as ``steps`` + 2 batches
    need (the first two steps warm up and are not timed)."""
    names = sorted(os.listdir(E2E_IMAGES))
    ann_file = osp.join(work_dir, 'e2e_images.txt')
    with open(ann_file, 'w') as f:
        f.writelines(f'{names[i % len(names)]}\n' for i in range(batch * (steps + 2)))
    loader_cfg = copy.deepcopy(cfg.train_dataloader)
    loader_cfg.update(batch_size=batch, num_workers=workers, persistent_workers=False,
                      pin_memory=device().type == 'cuda', drop_last=True)
    loader_cfg.dataset = dict(type='ImageFolder', data_root='', ann_file=ann_file,
                              data_prefix=dict(img_path=E2E_IMAGES), pipeline=loader_cfg.dataset.pipeline)
    set_crop_size(loader_cfg.dataset.pipeline, img_size)
    model_cfg = copy.deepcopy(cfg)
    set_crop_size(model_cfg.model.data_preprocessor, img_size)
    model, optim_wrapper = trainable_model(model_cfg, teacher_ckpt, channels_last, batch, amp)
    loader = Runner.build_dataloader(loader_cfg, seed=0)
    batches = iter(loader)
    for _ in range(2):
        model.train_step(next(batches), optim_wrapper)
    sync()
    start = time.perf_counter()
    for data in batches:
        model.train_step(data, optim_wrapper)
    sync()
    return batch * steps / (time.perf_counter() - start)


def table(rows: List[List[str]]) -> str:
    """A markdown table of ``rows``, the first being the header."""
    lines = ['| ' + ' | '.join(rows[0]) + ' |', '|' + '---|' * len(rows[0])]
    return '\n'.join(lines + ['| ' + ' | '.join(r) + ' |' for r in rows[1:]])
