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
from mmengine.dataset import pseudo_collate
from PIL import Image, ImageFilter

import mmpcd  # noqa: F401  (registers the components)
from mmpcd.datasets import PackImageForDeviceAugment, SeededIndex, SeededPipeline, pil_ops
from mmpcd.models.data_preprocessors import DeviceAugmentDataPreprocessor
from mmselfsup.registry import MODELS, TRANSFORMS

from conftest import REPO

CPU_BASE = osp.join(REPO, 'configs', '_base_', 'datasets', 'imagenet_pcd.py')
IMAGES = sorted(glob.glob(osp.join(REPO, 'data', 'coco_mini', 'train', '*.jpg')))[:4]
#: Whole two-view output vs the CPU pipeline, in uint8 levels (16 views of data/coco_mini at 224 px measured: max
#: 1-5 and mean < 0.01 in 14 views; max 4 / mean 0.19 and max 13 / mean 0.49 in two, where a level of difference
#: moved the contrast's rounded mean, which shifts every pixel). Not bit-exact: the hue conversion (float) and
#: Pillow's fixed-point resampling weights.
TOL_MAX, TOL_MEAN, TOL_MEDIAN_MEAN = 16, 0.6, 0.01


@pytest.fixture(scope='module')
def views() -> dict:
    return Config.fromfile(CPU_BASE).train_pipeline[1].to_dict()


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
    for ymin, xmin, ymax, xmax in ((10, 20, 300, 400), (5, 7, 60, 49)):  # down- and up-sampling
        ref = mmcv.imresize(mmcv.imcrop(img, np.array([xmin, ymin, xmax, ymax])), (224, 224), interpolation='bicubic',
                            backend='pillow')
        worst, mean = diff(pil_ops.resized_crop(x[0], (ymin, xmin, ymax, xmax), (224, 224)), rgb_tensor(ref))
        assert worst <= 2 and mean <= 0.01  # Pillow's fixed-point filter weights


def test_two_views_match_the_cpu_pipeline(views, preprocessor):
    """The whole two-view output (before normalisation) vs the CPU pipeline for a few seeds."""
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
