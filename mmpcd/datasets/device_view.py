"""One augmented view of the CPU pipeline, drawn as the CPU pipeline draws it and computed on batched tensors."""
import hashlib
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from mmselfsup.registry import TRANSFORMS
from . import pil_ops
from .seeded_sampler import SeededIndex, SeededPipeline

#: The flip directions of mmcv's RandomFlip -> the tensor dimensions they reverse.
FLIP_DIMS = {'horizontal': (-1, ), 'vertical': (-2, ), 'diagonal': (-2, -1)}


class _Shape:
    """What ``RandomResizedCrop.get_params`` reads of an image: its ``shape``."""

    def __init__(self, height: int, width: int) -> None:
        self.shape = (height, width, 3)


def _check(cfg: dict, ok: bool, need: str) -> None:
    if not ok:
        raise ValueError(f'DeviceAugmentDataPreprocessor: {cfg} is not supported on the device: it needs {need}; '
                         'set it so, or keep the CPU pipeline (MultiView in train_dataloader.dataset.pipeline)')


def _subset(images: torch.Tensor, chosen: Sequence[bool], fn: Callable[[torch.Tensor, torch.Tensor],
                                                                       torch.Tensor]) -> torch.Tensor:
    """``images`` with ``fn(images[index], index)`` in place of the chosen ones (all others unchanged)."""
    index = torch.tensor([i for i, c in enumerate(chosen) if c], dtype=torch.long, device=images.device)
    if len(index) == 0:
        return images
    images = images.clone()
    images[index] = fn(images[index], index)
    return images


class DeviceView:
    """One view of mmselfsup's ``MultiView``: its transforms' parameters drawn by the CPU transforms themselves,
    the image operations run on a batch of tensors (:mod:`.pil_ops`).

    :meth:`draw` makes, for one image, the random generator calls the CPU transforms make, in their order (python's
    ``random`` for RandomResizedCrop and RandomGrayscale, numpy's for the others), through the transforms' own
    methods where they have one (``RandomResizedCrop.get_params``, ``RandomFlip._choose_direction``,
    ``RandomApply.random_apply``, ``ColorJitter.get_params``, ``RandomGrayscale._random_prob``), and as their
    ``transform`` does where they have none (``RandomGaussianBlur``, ``RandomSolarize``). :meth:`apply` then makes
    the batch's views from the decoded images and these parameters.

    Args:
        transforms: The view's transform configs, as in ``MultiView(transforms=[...])``. The first is
            ``RandomResizedCrop`` (Pillow backend, bilinear or bicubic); then any of ``RandomFlip``,
            ``ColorJitter`` (Pillow backend), ``RandomGrayscale`` (``keep_channels=True``, BGR),
            ``RandomGaussianBlur``, ``RandomSolarize``, and ``RandomApply`` of these.
    """

    #: The transform types this view runs on the device.
    SUPPORTED = ('RandomResizedCrop', 'RandomFlip', 'RandomApply', 'ColorJitter', 'RandomGrayscale',
                 'RandomGaussianBlur', 'RandomSolarize')

    def __init__(self, transforms: Sequence[dict]) -> None:
        if not transforms or transforms[0].get('type') != 'RandomResizedCrop':
            raise ValueError(f'DeviceAugmentDataPreprocessor: a view must begin with RandomResizedCrop (it makes '
                             f'the batch of equal-size crops), got {list(transforms)}')
        crop = transforms[0]
        _check(crop,
               crop.get('backend', 'cv2') == 'pillow' and crop.get('interpolation', 'bilinear') in pil_ops.RESIZE_MODES,
               f"backend='pillow' and interpolation {' or '.join(map(repr, pil_ops.RESIZE_MODES))}")
        self.crop = TRANSFORMS.build(dict(crop))
        self.steps = [self._build(cfg) for cfg in transforms[1:]]

    def _build(self, cfg: dict) -> Tuple[str, Any, list]:
        """``(type, CPU transform, inner steps)`` of one transform config (inner steps: RandomApply's)."""
        kind = cfg.get('type')
        if kind not in self.SUPPORTED[1:]:
            raise ValueError(f'DeviceAugmentDataPreprocessor cannot run the transform type {kind!r} of the view '
                             f'{cfg} on the device; supported: {", ".join(self.SUPPORTED)} (RandomResizedCrop '
                             'first). Remove it from the views, or keep the CPU pipeline (MultiView)')
        if kind == 'ColorJitter':
            _check(cfg, cfg.get('backend', 'pillow') == 'pillow', "backend='pillow'")
        if kind == 'RandomGrayscale':
            _check(cfg,
                   cfg.get('keep_channels', False) and cfg.get('color_format', 'bgr') == 'bgr',
                   "keep_channels=True and color_format='bgr'")
        inner = [self._build(c) for c in cfg.get('transforms', [])] if kind == 'RandomApply' else []
        return kind, TRANSFORMS.build(dict(cfg)), inner

    @property
    def size(self) -> Tuple[int, int]:
        """The view's ``(height, width)``."""
        return tuple(self.crop.size)

    def draw(self, height: int, width: int) -> dict:
        """The parameters of this view of a ``height`` x ``width`` image, from the process's current python and
        numpy generators (seed them first, as :class:`SeededPipeline` does)."""
        crop = self.crop
        box = crop.get_params(_Shape(height, width), crop.scale, crop.ratio, crop.max_attempts)
        return dict(box=box, steps=self._draw_steps(self.steps))

    def _draw_steps(self, steps: list) -> List[Any]:
        return [self._draw_one(kind, transform, inner) for kind, transform, inner in steps]

    @staticmethod
    def _hue_shift(hue: Optional[float]) -> Optional[int]:
        """mmcv's ``adjust_hue`` adds ``np.uint8(hue_factor * 255)`` to H: the same numpy cast, wrap included."""
        if hue is None:
            return None
        with np.errstate(over='ignore', invalid='ignore'):
            return int(np.uint8(hue * 255))

    def _draw_one(self, kind: str, transform: Any, inner: list) -> Any:
        if kind == 'RandomFlip':
            return transform._choose_direction()
        if kind == 'RandomApply':
            return self._draw_steps(inner) if transform.random_apply() else None
        if kind == 'ColorJitter':
            b, c, s, h, order = transform.get_params(transform.brightness, transform.contrast, transform.saturation,
                                                     transform.hue)
            return dict(factors=(b, c, s, self._hue_shift(h)), order=[int(i) for i in order])
        if kind == 'RandomGrayscale':
            return transform._random_prob() < transform.prob
        if kind == 'RandomGaussianBlur':  # as its transform(): the coin, then sigma if it blurs
            return None if np.random.rand() > transform.prob else float(
                np.random.uniform(transform.sigma_min, transform.sigma_max))
        return not np.random.rand() > transform.prob  # RandomSolarize, as its transform()

    def apply(self, images: Sequence[torch.Tensor], params: Sequence[dict]) -> torch.Tensor:
        """The batch of views.

        Args:
            images: The decoded images, ``(3, H, W)`` uint8 each, **RGB**.
            params: Each image's :meth:`draw`.

        Returns:
            ``(N, 3, *size)`` float, RGB, whole numbers in 0-255 (the CPU pipeline's uint8 views).
        """
        views = torch.cat(
            [pil_ops.resized_crop(img, p['box'], self.size, self.crop.interpolation) for img, p in zip(images, params)])
        return self._apply_steps(views, self.steps, [p['steps'] for p in params])

    def _apply_steps(self, views: torch.Tensor, steps: list, params: Sequence[list]) -> torch.Tensor:
        for k, (kind, transform, inner) in enumerate(steps):
            values = [p[k] for p in params]
            views = self._apply_one(views, kind, transform, inner, values)
        return views

    def _apply_one(self, views: torch.Tensor, kind: str, transform: Any, inner: list, values: list) -> torch.Tensor:
        if kind == 'RandomFlip':
            for direction, dims in FLIP_DIMS.items():
                views = _subset(views, [v == direction for v in values], lambda x, _: x.flip(dims))
            return views
        if kind == 'RandomApply':
            applied = [v is not None for v in values]
            chosen = [v for v in values if v is not None]
            return _subset(views, applied, lambda x, _: self._apply_steps(x, inner, chosen))
        if kind == 'ColorJitter':
            return self._jitter(views, values)
        if kind == 'RandomGrayscale':
            return _subset(views, values, lambda x, _: pil_ops.grayscale(x, transform.channel_weights))
        if kind == 'RandomGaussianBlur':
            sigmas = [v for v in values if v is not None]
            return _subset(views, [v is not None for v in values], lambda x, _: pil_ops.gaussian_blur(x, sigmas))
        return _subset(views, values, lambda x, _: pil_ops.solarize(x, transform.threshold))  # RandomSolarize

    @staticmethod
    def _jitter(views: torch.Tensor, values: Sequence[dict]) -> torch.Tensor:
        """mmselfsup's ``ColorJitter``: each image's four adjustments in its own order; each step of the order
        runs batched, one call per adjustment over the images that make it at that step."""
        ops: Dict[int, Callable] = {
            0: pil_ops.adjust_brightness, 1: pil_ops.adjust_contrast, 2: pil_ops.adjust_saturation,
            3: pil_ops.adjust_hue
        }
        factors = torch.tensor([[np.nan if f is None else f for f in v['factors']] for v in values],
                               dtype=torch.float64)
        for step in range(4):
            for op_id, op in ops.items():
                chosen = [v['order'][step] == op_id and v['factors'][op_id] is not None for v in values]
                views = _subset(views, chosen, lambda x, index: op(x, factors[index.cpu(), op_id].to(x.device)))
        return views


def views_key(views: dict) -> str:
    """A short digest of a ``MultiView`` config (its ``type`` left out): workers that draw the parameters
    (``PackImageForDeviceAugment(views=...)``) pack it, and the data preprocessor checks that it applies the views
    they were drawn for."""

    def plain(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: plain(v) for k, v in sorted(value.items()) if k != 'type' or 'num_views' not in value}
        return [plain(v) for v in value] if isinstance(value, (list, tuple)) else value

    return hashlib.sha1(repr(plain(dict(views))).encode()).hexdigest()[:12]


def build_views(views: dict) -> List[DeviceView]:
    """One :class:`DeviceView` a view of a ``MultiView`` config (``num_views``, ``transforms``; its ``type`` may be
    left in, so ``views=train_pipeline[1]`` of a CPU config works).

    Raises:
        ValueError: ``views`` is not such a config, or a view holds a transform the device path cannot run.
    """
    views = dict(views)
    if views.pop('type', 'MultiView') != 'MultiView' or set(views) != {'num_views', 'transforms'}:
        raise ValueError(f'DeviceAugmentDataPreprocessor: views must be the config of MultiView, dict(num_views=['
                         f'...], transforms=[[...], ...]), got {views}')
    num_views, transforms = views['num_views'], views['transforms']
    if len(num_views) != len(transforms):
        raise ValueError(f'DeviceAugmentDataPreprocessor: views has {len(num_views)} num_views and '
                         f'{len(transforms)} transforms lists; give one count per list')
    return [view for n, cfg in zip(num_views, transforms) for view in [DeviceView(cfg)] * n]


def draw_views(views: Sequence[DeviceView], seed: int, height: int, width: int) -> List[dict]:
    """The parameters of every view of a ``height`` x ``width`` image whose augmentation seed is ``seed``: the
    generators seeded (and restored after) by :class:`SeededPipeline`, as for the CPU pipeline."""
    draw_all = lambda _: [view.draw(height, width) for view in views]  # noqa: E731
    return SeededPipeline(draw_all)(dict(sample_idx=SeededIndex(0, seed)))
