"""The device augmentation path (DeviceAugmentDataPreprocessor, PackImageForDeviceAugment) against the CPU pipeline
of configs/_base_/datasets/imagenet_pcd.py, on CPU tensors: the same parameters for a seed, their distributions, the
same images within the tolerances of docs/device_augment.md, determinism, the errors, and a short training run."""
import glob
import math
import os.path as osp
import random
import subprocess
import sys
import warnings

import mmcv
import numpy as np
import pytest
import torch
from mmcv.image import photometric
from mmengine.config import Config
from mmengine.dataset import default_collate, pseudo_collate
from PIL import Image, ImageFilter

import mmpcd  # noqa: F401  (registers the components)
from mmpcd.apis import build_config, runner_from_config
from mmpcd.datasets import PackImageForDeviceAugment, SeededIndex, SeededPipeline, pil_ops
from mmpcd.engine import ConfigError, check_collate
from mmpcd.models.data_preprocessors import DeviceAugmentDataPreprocessor
from mmselfsup.registry import MODELS, TRANSFORMS

from conftest import REPO

CPU_BASE = osp.join(REPO, 'configs', '_base_', 'datasets', 'imagenet_pcd.py')
IMAGES = sorted(glob.glob(osp.join(REPO, 'data', 'coco_mini', 'train', '*.jpg')))[:4]
#: Whole two-view output vs the CPU pipeline, in uint8 levels (16 views of data/coco_mini at 224 px measured: max
#: 1-5, mean < 0.006 with bicubic crops; max 1-6, mean < 0.017 with bilinear ones). Not bit-exact: the hue
#: conversion (float, up to 6 levels) and Pillow's fixed-point resampling weights.
TOL_MAX, TOL_MEAN, TOL_MEDIAN_MEAN = 8, 0.03, 0.01
#: crop + resize vs Pillow, per interpolation: (max, mean) levels bounds over random crops of data/coco_mini.
RESIZE_TOL = dict(bicubic=(2, 0.005), bilinear=(2, 0.05))


@pytest.fixture(scope='module')
def views() -> dict:
    return Config.fromfile(CPU_BASE).train_pipeline[1].to_dict()


def with_interpolation(views: dict, interpolation: str = None) -> dict:
    """``views`` whose crops resize with ``interpolation`` (None: the key left out, RandomResizedCrop's default)."""
    transforms = []
    for view in views['transforms']:
        crop = {k: v for k, v in view[0].items() if k != 'interpolation'}
        transforms.append([crop if interpolation is None else dict(crop, interpolation=interpolation), *view[1:]])
    return dict(views, transforms=transforms)


@pytest.fixture(scope='module')
def preprocessor(views) -> DeviceAugmentDataPreprocessor:
    return MODELS.build(
        dict(type='DeviceAugmentDataPreprocessor', views=views, mean=(123.675, 116.28, 103.53),
             std=(58.395, 57.12, 57.375), bgr_to_rgb=True))


def rgb_tensor(bgr: np.ndarray) -> torch.Tensor:
    """An mmcv (BGR, HWC) uint8 image as the (1, 3, H, W) float RGB tensor of pil_ops."""
    return torch.from_numpy(np.ascontiguousarray(bgr[..., ::-1])).permute(2, 0, 1)[None].float()


def packed(path: str, seed: int, views: dict = None) -> dict:
    """``path`` through the device path's worker pipeline with the augmentation seed ``seed`` (with ``views``: the
    worker draws their parameters)."""
    pipeline = SeededPipeline(lambda r: PackImageForDeviceAugment(views=views)
                              (TRANSFORMS.build(dict(type='LoadImageFromFileChecked'))(r)))
    return pipeline(dict(img_path=path, sample_idx=SeededIndex(0, seed)))


def cpu_views(views: dict, path: str, seed: int) -> list:
    """The CPU pipeline's views of ``path`` for ``seed``, each (1, 3, H, W) float RGB."""
    pipeline = SeededPipeline(mmcv.transforms.Compose([dict(type='LoadImageFromFileChecked'), views]))
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # mmcv's adjust_color warns that Pillow uses alpha only
        results = pipeline(dict(img_path=path, sample_idx=SeededIndex(0, seed)))
    return [rgb_tensor(img) for img in results['img']]


def diff(a: torch.Tensor, b: torch.Tensor) -> tuple:
    d = (a - b).abs()
    return d.max().item(), d.mean().item()


class Recorder:
    """Records every call of python's and numpy's generators (function, arguments, value) that the transforms make."""

    def __init__(self, monkeypatch) -> None:
        self.calls = []
        for module, names in ((random, ('random', 'uniform', 'randint')), (np.random, ('rand', 'uniform', 'choice',
                                                                                       'permutation'))):
            for name in names:
                monkeypatch.setattr(module, name, self.wrap(getattr(module, name), name))

    def wrap(self, fn, label):

        def wrapped(*args, **kwargs):
            out = fn(*args, **kwargs)
            self.calls.append((label, repr(args), repr(out)))
            return out

        return wrapped


def test_parameters_are_the_cpu_pipelines_for_the_seed(views, preprocessor, monkeypatch):
    """Every random call of the CPU pipeline, in order and value, is the device path's for the same seed."""
    recorder = Recorder(monkeypatch)
    for seed in range(20):
        item = packed(IMAGES[seed % len(IMAGES)], seed)
        recorder.calls.clear()
        cpu_views(views, IMAGES[seed % len(IMAGES)], seed)
        cpu_calls = list(recorder.calls)
        recorder.calls.clear()
        preprocessor.draw(seed, *item['inputs'].shape[1:])
        assert recorder.calls == cpu_calls and len(cpu_calls) >= 12, seed


def test_parameter_distributions(preprocessor):
    """Over 2000 seeds: crop scale and log-ratio ranges, jitter factor ranges, and each probability within 4.5
    binomial standard deviations (a false alarm about 1 in 10^5 per proportion)."""
    n, h, w = 2000, 480, 640
    draws = [preprocessor.draw(seed, h, w) for seed in range(n)]
    for v, (blur_p, solar_p) in enumerate(((1.0, 0.0), (0.1, 0.2))):
        params = [d[v] for d in draws]
        boxes = np.array([p['box'] for p in params])
        ch, cw = boxes[:, 2] - boxes[:, 0] + 1, boxes[:, 3] - boxes[:, 1] + 1
        scale, log_ratio = ch * cw / (h * w), np.log(cw / ch)
        assert scale.min() >= 0.08 - 0.01 and scale.max() <= 1 and scale.min() < 0.1 and scale.max() > 0.9
        assert abs(log_ratio).max() <= math.log(4 / 3) + 0.02 and abs(log_ratio).max() > 0.25
        flip, jitter, gray, blur, solar = zip(*[p['steps'] for p in params])

        def close(events, p):
            tol = 4.5 * math.sqrt(max(p * (1 - p), 1e-12) / n)
            assert abs(np.mean(events) - p) <= tol, (np.mean(events), p)

        close([f == 'horizontal' for f in flip], 0.5)
        close([j is not None for j in jitter], 0.8)
        close(gray, 0.2)
        close([b is not None for b in blur], blur_p)
        close(solar, solar_p)
        factors = np.array([j[0]['factors'] for j in jitter if j is not None], dtype=float)
        for k, (lo, hi) in enumerate([(0.6, 1.4), (0.6, 1.4), (0.8, 1.2)]):
            assert lo <= factors[:, k].min() < lo + 0.01 and hi - 0.01 < factors[:, k].max() <= hi
        shifts = factors[:, 3]  # np.uint8(hue * 255) of hue in [-0.1, 0.1]: 0..25 and 231..255
        assert set(shifts.astype(int)) == set(range(26)) | set(range(231, 256))
        assert {tuple(j[0]['order'])
                for j in jitter if j is not None} == {tuple(p)
                                                      for p in __import__('itertools').permutations(range(4))}
        sigmas = np.array([b for b in blur if b is not None])
        assert 0.1 <= sigmas.min() < 0.2 and 1.9 < sigmas.max() <= 2.0


@pytest.mark.parametrize('path', IMAGES[:2])
def test_ops_match_the_cpu_transforms(path):
    """Each op on a real image, with the same parameters, against the CPU transform (uint8 levels)."""
    img = mmcv.imread(path)
    x = rgb_tensor(img)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        for factor in (0.6, 1.37):
            f = torch.tensor([factor])
            assert diff(pil_ops.adjust_brightness(x, f),
                        rgb_tensor(photometric.adjust_brightness(img, factor, 'pillow')))[0] == 0
            assert diff(pil_ops.adjust_contrast(x, f), rgb_tensor(photometric.adjust_contrast(img, factor,
                                                                                              'pillow')))[0] == 0
            assert diff(pil_ops.adjust_saturation(x, f),
                        rgb_tensor(photometric.adjust_color(img, factor, backend='pillow')))[0] == 0
        for hue in (-0.1, 0.03, 0.1):
            shift = torch.tensor([int(np.uint8(hue * 255))])
            worst, mean = diff(pil_ops.adjust_hue(x, shift), rgb_tensor(photometric.adjust_hue(img, hue, 'pillow')))
            assert worst <= 6 and mean <= 0.01  # Pillow's float HSV conversion, within 1e-3 of a level on average
    weights = (0.114, 0.587, 0.2989)
    gray = (np.array(weights) / sum(weights) * img).sum(2).astype('uint8')
    worst, mean = diff(pil_ops.grayscale(x, weights), rgb_tensor(np.repeat(gray[..., None], 3, 2)))
    assert worst <= 1 and mean <= 1e-3  # float32 vs numpy's float64 weighted sum
    for sigma in (0.1, 0.73, 1.41, 2.0):
        blurred = np.array(Image.fromarray(img).filter(ImageFilter.GaussianBlur(radius=sigma)))
        assert diff(pil_ops.gaussian_blur(x, [sigma]), rgb_tensor(blurred))[0] == 0  # exact: Pillow's integers
    assert diff(pil_ops.solarize(x), rgb_tensor(mmcv.solarize(img)))[0] == 0


def random_crops(count: int, seed: int = 0) -> list:
    """``count`` (image, box, size) of IMAGES: boxes of any shape, 70 % to 224 x 224, the others to random sizes
    (up- and down-sampling, and crops whose height shrinks more than twice as much as their width)."""
    rng = np.random.default_rng(seed)
    crops = []
    for k in range(count):
        img = mmcv.imread(IMAGES[k % len(IMAGES)])
        height, width = img.shape[:2]
        h, w = int(rng.integers(8, height)), int(rng.integers(8, width))
        ymin, xmin = int(rng.integers(0, height - h + 1)), int(rng.integers(0, width - w + 1))
        size = (224, 224) if rng.random() < 0.7 else (int(rng.integers(16, 300)), int(rng.integers(16, 300)))
        crops.append((img, (ymin, xmin, ymin + h - 1, xmin + w - 1), size))
    return crops


@pytest.mark.parametrize('interpolation', ['bicubic', 'bilinear'])
def test_crop_and_resize_match_pillow(interpolation):
    """``pil_ops.resized_crop`` against mmcv's Pillow resize of the same crop, over 60 random crops: within the
    levels of RESIZE_TOL (docs/device_augment.md). Covers Pillow 13's height-first order
    (``pil_ops.height_first``), which the width-first-only version missed by up to 12 levels."""
    crops = random_crops(60)
    assert any(pil_ops.height_first((box[2] - box[0] + 1, box[3] - box[1] + 1), size) for _, box, size in crops) \
        or not pil_ops.PILLOW_HEIGHT_FIRST
    worst, mean = 0.0, 0.0
    for img, (ymin, xmin, ymax, xmax), size in crops:
        ref = mmcv.imresize(mmcv.imcrop(img, np.array([xmin, ymin, xmax, ymax])), size[::-1],
                            interpolation=interpolation, backend='pillow')
        out = pil_ops.resized_crop(rgb_tensor(img)[0], (ymin, xmin, ymax, xmax), size, interpolation)
        crop_worst, crop_mean = diff(out, rgb_tensor(ref))
        worst, mean = max(worst, crop_worst), max(mean, crop_mean)
    max_tol, mean_tol = RESIZE_TOL[interpolation]
    assert worst <= max_tol and mean <= mean_tol, (worst, mean)


#: Every hue shift ColorJitter(hue=0.1) can draw: np.uint8(h * 255) for h in [-0.1, 0.1].
HUE_SHIFTS = tuple(range(26)) + tuple(range(231, 256))


def hue_worst_over_all_colours(shift: int) -> tuple:
    """``pil_ops.adjust_hue`` vs mmcv's ``adjust_hue`` (Pillow) on all 2^24 RGB colours (a 4096 x 4096 image),
    compared in chunks of 2^20: (max, mean) absolute difference in levels."""
    code = np.arange(1 << 24, dtype=np.uint32)
    rgb = np.stack([(code >> 16) & 255, (code >> 8) & 255, code & 255], 1).astype(np.uint8)
    signed = shift if shift < 128 else shift - 256
    hue_factor = signed / 255 + math.copysign(1e-6, signed)  # away from 0: mmcv's cast truncates towards it
    with np.errstate(over='ignore', invalid='ignore'):
        assert int(np.uint8(hue_factor * 255)) == shift  # the shift mmcv's adjust_hue adds
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        ref = photometric.adjust_hue(rgb[:, ::-1].reshape(4096, 4096, 3), hue_factor, 'pillow')[..., ::-1]
    ref = torch.from_numpy(np.ascontiguousarray(ref.reshape(-1, 3)))
    colours, worst, total = torch.from_numpy(rgb), 0.0, 0.0
    for start in range(0, 1 << 24, 1 << 20):
        chunk = colours[start:start + (1 << 20)].T.reshape(1, 3, 1024, 1024).float()
        out = pil_ops.adjust_hue(chunk, torch.tensor([shift]))[0].reshape(3, -1).T
        d = (out - ref[start:start + (1 << 20)].float()).abs()
        worst, total = max(worst, d.max().item()), total + d.sum().item()
    return worst, total / (3 << 24)


def test_hue_over_all_colours():
    """docs/device_augment.md's hue tolerance, over all 16.7 M colours, at the largest shift (about 4 s)."""
    worst, mean = hue_worst_over_all_colours(25)
    assert worst <= 6 and mean < 0.005, (worst, mean)


@pytest.mark.slow
@pytest.mark.parametrize('shift', HUE_SHIFTS)
def test_hue_over_all_colours_at_every_shift(shift):
    """As above at each of the 51 shifts ColorJitter(hue=0.1) can draw (one test a shift, so that ``pytest -n``
    spreads them; 99 s in all on a 2-core CPU)."""
    worst, mean = hue_worst_over_all_colours(shift)
    assert worst <= 6 and mean < 0.005, (shift, worst, mean)


@pytest.mark.parametrize('interpolation', ['bicubic', 'bilinear', None])
def test_two_views_match_the_cpu_pipeline(views, interpolation):
    """The whole two-view output (before normalisation) vs the CPU pipeline for a few seeds, with the crops resized
    bicubic (the config's), bilinear, or as RandomResizedCrop does without the key (bilinear: before, the device
    path resized every crop bicubic, 45 levels off a bilinear CPU view)."""
    views = with_interpolation(views, interpolation)
    preprocessor = MODELS.build(dict(type='DeviceAugmentDataPreprocessor', views=views))
    worst = []
    for seed, path in enumerate(IMAGES * 2):
        item = packed(path, seed)
        device = preprocessor.augment([item['inputs']], [item['data_samples'].aug_seed])
        for dev, cpu in zip(device, cpu_views(views, path, seed)):
            worst.append(diff(dev, cpu))
    assert max(w[0] for w in worst) <= TOL_MAX and max(w[1] for w in worst) <= TOL_MEAN, worst
    assert np.median([w[1] for w in worst]) <= TOL_MEDIAN_MEAN, worst


def test_forward_normalises_and_is_deterministic(preprocessor, views):
    batch = pseudo_collate([packed(p, seed) for seed, p in enumerate(IMAGES)])
    out, samples = preprocessor(batch, True)
    again, _ = preprocessor(pseudo_collate([packed(p, seed) for seed, p in enumerate(IMAGES)]), True)
    assert len(out) == 2 and out[0].shape == (len(IMAGES), 3, 224, 224) and out[0].dtype == torch.float32
    assert all(torch.equal(a, b) for a, b in zip(out, again))
    raw = preprocessor.augment(batch['inputs'], [s.aug_seed for s in samples])
    assert torch.allclose(out[1], (raw[1] - preprocessor.mean) / preprocessor.std)
    bgr = MODELS.build(dict(type='DeviceAugmentDataPreprocessor', views=views))
    assert torch.equal(bgr(batch, True)[0][0], raw[0].flip(1))  # no bgr_to_rgb, no mean/std: BGR, unnormalised
    other, _ = preprocessor(pseudo_collate([packed(p, seed + 100) for seed, p in enumerate(IMAGES)]), True)
    assert not torch.equal(out[0], other[0]) and not torch.equal(out[1], other[1])
    state = (np.random.get_state()[1][:4].tolist(), torch.initial_seed())
    preprocessor(batch, True)  # the process's own generators are left as they were
    assert state == (np.random.get_state()[1][:4].tolist(), torch.initial_seed())


def test_workers_draw_the_parameters_the_preprocessor_would(preprocessor, views):
    """``PackImageForDeviceAugment(views=...)`` draws in the worker the parameters the preprocessor draws from the
    seed, so the views are the same bit for bit; parameters drawn for other views are refused by name."""
    for seed, path in enumerate(IMAGES):
        sample = packed(path, seed, views)['data_samples']
        height, width = packed(path, seed)['inputs'].shape[1:]
        assert sample.aug_params == preprocessor.draw(seed, height, width)
    from_workers, _ = preprocessor(pseudo_collate([packed(p, seed, views) for seed, p in enumerate(IMAGES)]), True)
    from_seeds, _ = preprocessor(pseudo_collate([packed(p, seed) for seed, p in enumerate(IMAGES)]), True)
    assert all(torch.equal(a, b) for a, b in zip(from_workers, from_seeds))
    swapped = dict(views, transforms=views['transforms'][::-1])
    with pytest.raises(ValueError, match='drew the views. parameters for other views .*give both the same views'):
        preprocessor(pseudo_collate([packed(p, seed, swapped) for seed, p in enumerate(IMAGES)]), True)


def test_unsupported_transform_is_a_build_error(views):
    bad = dict(views, transforms=[views['transforms'][0] + [dict(type='RandomRotation', degrees=10)]])
    with pytest.raises(ValueError, match="'RandomRotation'.*supported: RandomResizedCrop, RandomFlip"):
        MODELS.build(dict(type='DeviceAugmentDataPreprocessor', views=dict(bad, num_views=[1])))
    cv2_jitter = [dict(t, backend='cv2') if t['type'] == 'ColorJitter' else t for t in views['transforms'][0]]
    with pytest.raises(ValueError, match='backend=.pillow'):
        MODELS.build(
            dict(
                type='DeviceAugmentDataPreprocessor', views=dict(
                    num_views=[1],
                    transforms=[[cv2_jitter[0], cv2_jitter[1],
                                 dict(type='ColorJitter', brightness=0.4, backend='cv2')]])))
    with pytest.raises(ValueError, match='must begin with RandomResizedCrop'):
        MODELS.build(
            dict(type='DeviceAugmentDataPreprocessor', views=dict(num_views=[1],
                                                                  transforms=[views['transforms'][0][1:]])))


def test_index_without_seed_names_the_sampler():
    results = TRANSFORMS.build(dict(type='LoadImageFromFileChecked'))(dict(img_path=IMAGES[0], sample_idx=3))
    with pytest.raises(ValueError, match="sampler=dict\\(type='SeededAugmentationSampler'\\)"):
        PackImageForDeviceAugment()(results)


def test_configs_select_the_device_path():
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'pcd', 'pcd_resnet18_8xb128-device-aug-coslr-100e_in1k.py'))
    cpu = Config.fromfile(osp.join(REPO, 'configs', 'pcd', 'pcd_resnet18_8xb128-coslr-100e_in1k.py'))
    assert cfg.model.data_preprocessor.type == 'DeviceAugmentDataPreprocessor'
    assert cfg.model.data_preprocessor.views == cpu.train_dataloader.dataset.pipeline[1]
    assert cfg.model.data_preprocessor.mean == cpu.model.data_preprocessor.mean
    assert [t['type'] for t in cfg.train_dataloader.dataset.pipeline
            ] == ['LoadImageFromFileChecked', 'PackImageForDeviceAugment']
    assert cfg.train_dataloader.dataset.pipeline[1].views == cfg.model.data_preprocessor.views  # workers draw
    assert cfg.train_dataloader.collate_fn.type == 'pseudo_collate'
    assert 'type' not in cpu.model.data_preprocessor  # the CPU path stays the default


def test_default_collate_is_refused_before_the_runner(tmp_path):
    """mmselfsup's default_collate stacks the whole images, which fails at the first batch of two sizes with torch's
    "stack expects each tensor to be equal size"; the config is refused before the Runner, naming the key and
    pseudo_collate. The device config (pseudo_collate) and mmengine's default (no collate_fn) pass."""
    items = [packed(path, seed) for seed, path in enumerate(IMAGES[:2])]
    assert items[0]['inputs'].shape != items[1]['inputs'].shape
    with pytest.raises(RuntimeError, match='stack expects each tensor to be equal size'):
        default_collate(items)
    config = osp.join(REPO, 'configs', 'pcd', 'pcd_resnet18_8xb128-device-aug-coslr-100e_in1k.py')
    cfg = build_config(config, work_dir=str(tmp_path),
                       cfg_options={'train_dataloader.collate_fn.type': 'default_collate'})
    with pytest.raises(
            ConfigError, match="train_dataloader.collate_fn='default_collate': its pipeline packs each image "
            'at its own size \\(PackImageForDeviceAugment\\).*stack expects each tensor to be equal size.*'
            "set train_dataloader.collate_fn=dict\\(type='pseudo_collate'\\)"):
        runner_from_config(cfg)
    check_collate(build_config(config))
    del cfg.train_dataloader['collate_fn']
    check_collate(cfg)


DEVICE_DEMO = """_base_ = [{demo!r}]
views = _base_.train_pipeline[1]
train_pipeline = [_base_.train_pipeline[0], dict(type='PackImageForDeviceAugment', views=views)]
train_dataloader = dict(collate_fn=dict(type='pseudo_collate'), dataset=dict(pipeline=train_pipeline))
model = dict(data_preprocessor=dict(type='DeviceAugmentDataPreprocessor', views=views))
"""


@pytest.mark.slow
def test_short_training_through_the_device_path(tmp_path):
    """configs/pcd_r18_demo.py with its views made by DeviceAugmentDataPreprocessor: 3 iterations (one epoch of
    24 images at batch 8), 64 px crops, on the CPU; the loss is finite and the checkpoint written."""
    config = tmp_path / 'pcd_r18_demo_device_aug.py'
    config.write_text(DEVICE_DEMO.format(demo=osp.join(REPO, 'configs', 'pcd_r18_demo.py')))
    options = [
        'train_dataloader.num_workers=0', 'model.head.queue_len=64', 'train_cfg.max_epochs=1',
        'default_hooks.checkpoint.interval=1', 'default_hooks.logger.interval=1', *[
            f'{views}.transforms.{v}.0.size=64'
            for views in ('model.data_preprocessor.views', 'train_dataloader.dataset.pipeline.1.views') for v in (0, 1)
        ]
    ]  # the same views for the workers that draw and the preprocessor that applies (else a clear error)
    cmd = [sys.executable, 'tools/train.py', str(config), '--work-dir', str(tmp_path / 'w'), '--cfg-options', *options]
    out = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-5000:]
    checkpoint = torch.load(tmp_path / 'w' / 'epoch_1.pth', weights_only=True)
    assert checkpoint['meta']['iter'] == 3
    losses = [
        float(line.split('loss: ')[1].split()[0]) for line in (out.stdout + out.stderr).splitlines()
        if 'loss: ' in line and 'Epoch(train)' in line
    ]
    assert losses and all(math.isfinite(loss) for loss in losses)
