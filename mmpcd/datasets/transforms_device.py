"""The worker's half of the device augmentation path: pack the decoded image, its augmentation seed and, given the
views, their parameters."""
from typing import Optional

import numpy as np
import torch
from mmcv.transforms import BaseTransform

from mmselfsup.registry import TRANSFORMS
from mmselfsup.structures import SelfSupDataSample
from .device_view import build_views, draw_views, views_key

#: Metainfo keys of a packed sample: its augmentation seed; its views' parameters and the digest of those views.
SEED_KEY, PARAMS_KEY, VIEWS_KEY = 'aug_seed', 'aug_params', 'aug_views'


@TRANSFORMS.register_module()
class PackImageForDeviceAugment(BaseTransform):
    """Pack the decoded image, whole, and its augmentation seed for ``DeviceAugmentDataPreprocessor``.

    Goes after ``LoadImageFromFileChecked`` in place of ``MultiView`` and ``PackSelfSupInputs``: the workers read
    and decode (and, with ``views``, draw the views' parameters), and the views are made on the model's device.
    ``inputs`` is the image as a ``(3, H, W)`` uint8 tensor in the loader's channel order (BGR), of its own size
    (collate with ``pseudo_collate``: :func:`mmpcd.engine.check_collate` refuses another ``collate_fn`` before the
    Runner); ``data_samples`` holds the seed of the sample's index (``aug_seed``, from
    ``SeededAugmentationSampler``) and the ``meta_keys`` of the results.

    With ``views`` (the ``MultiView`` config the data preprocessor applies), the worker also draws each view's
    parameters from the seed (:func:`~mmpcd.datasets.device_view.draw_views`, the CPU transforms' own random calls)
    and packs them, so the main process only applies them: drawing costs about 0.25 ms a sample in Python, which
    the main process would otherwise spend before every step (docs/benchmark.md).

    Args:
        meta_keys: Keys of the results copied into the data sample's metainfo.
        views: The ``MultiView`` config of the views to draw (the data preprocessor's ``views``); None: the data
            preprocessor draws them.

    Raises:
        ValueError: The index carries no seed (the loader's sampler is not ``SeededAugmentationSampler``), or the
            image is not a 3-channel image.
    """

    def __init__(self, meta_keys: tuple = ('img_path', ), views: Optional[dict] = None) -> None:
        super().__init__()
        self.meta_keys = tuple(meta_keys)
        self.views = None if views is None else build_views(views)
        self.views_key = None if views is None else views_key(views)

    def transform(self, results: dict) -> dict:
        """Pack ``results['img']``, the seed of ``results['sample_idx']`` and, with ``views``, their parameters."""
        seed = getattr(results.get('sample_idx'), 'seed', None)
        if seed is None:
            raise ValueError('PackImageForDeviceAugment: the sample index carries no augmentation seed, and the '
                             'device augmentation draws each sample\'s views from it; set train_dataloader.sampler='
                             "dict(type='SeededAugmentationSampler') (the index is "
                             f"{results.get('sample_idx')!r})")
        img = results['img']
        if img.ndim != 3 or img.shape[2] != 3:
            raise ValueError(f'PackImageForDeviceAugment: {results.get("img_path")} decoded to shape {img.shape}, '
                             'not H x W x 3; load it in colour (LoadImageFromFileChecked color_type="color")')
        sample = SelfSupDataSample()
        sample.set_metainfo({SEED_KEY: int(seed), **{key: results[key] for key in self.meta_keys}})
        if self.views is not None:
            sample.set_metainfo(
                {PARAMS_KEY: draw_views(self.views, int(seed), img.shape[0], img.shape[1]), VIEWS_KEY: self.views_key})
        inputs = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))
        return dict(inputs=inputs, data_samples=sample)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(meta_keys={self.meta_keys}, views={self.views_key})'
