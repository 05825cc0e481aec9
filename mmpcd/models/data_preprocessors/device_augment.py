"""The two-view augmentation of the pre-training pipeline on the model's device, seeded as the CPU pipeline."""
from typing import List, Optional, Sequence, Tuple

import torch

from mmpcd.datasets.seeded_sampler import SeededIndex, SeededPipeline
from mmselfsup.models.utils import SelfSupDataPreprocessor
from mmselfsup.registry import MODELS
from mmselfsup.structures import SelfSupDataSample
from .device_view import DeviceView

#: The metainfo key of a data sample that holds its augmentation seed (written by PackImageForDeviceAugment).
SEED_KEY = 'aug_seed'


@MODELS.register_module()
class DeviceAugmentDataPreprocessor(SelfSupDataPreprocessor):
    """mmselfsup's ``SelfSupDataPreprocessor`` that first makes the views of ``MultiView`` on the inputs' device.

    The data loader's workers only read and decode (``LoadImageFromFileChecked``, then
    ``PackImageForDeviceAugment``, collated by ``pseudo_collate``); this preprocessor makes each sample's views
    on the device the model runs on (the GPU), batched, then converts BGR to RGB and normalises as
    ``SelfSupDataPreprocessor``.

    Each sample's parameters are drawn from its seed of ``SeededAugmentationSampler`` with the generators seeded
    by :class:`SeededPipeline` and by the CPU transforms' own calls, in the CPU pipeline's order
    (:class:`DeviceView`): for a given seed the crops, flips, colour jitter factors and orders, grayscale, blur
    sigmas and solarizations are those of the CPU pipeline, and the images agree with it within the tolerances of
    docs/device_augment.md. A batch that ``PackImageForDeviceAugment`` did not pack (no seed in its data samples:
    a validation loader's, already augmented) is only normalised, as by ``SelfSupDataPreprocessor``.

    Args:
        views: The config of ``MultiView``: ``num_views`` and ``transforms`` (its ``type`` may be left in, so
            ``views=train_pipeline[1]`` of a CPU config works).
        **kwargs: ``SelfSupDataPreprocessor``'s (``mean``, ``std``, ``bgr_to_rgb``, ...).
    """

    def __init__(self, views: dict, **kwargs) -> None:
        super().__init__(**kwargs)
        views = dict(views)
        if views.pop('type', 'MultiView') != 'MultiView' or set(views) != {'num_views', 'transforms'}:
            raise ValueError(f'DeviceAugmentDataPreprocessor: views must be the config of MultiView, dict(num_views=['
                             f'...], transforms=[[...], ...]), got {views}')
        num_views, transforms = views['num_views'], views['transforms']
        if len(num_views) != len(transforms):
            raise ValueError(f'DeviceAugmentDataPreprocessor: views has {len(num_views)} num_views and '
                             f'{len(transforms)} transforms lists; give one count per list')
        self.views = [view for n, cfg in zip(num_views, transforms) for view in [DeviceView(cfg)] * n]

    def draw(self, seed: int, height: int, width: int) -> List[dict]:
        """The parameters of every view of a ``height`` x ``width`` image whose augmentation seed is ``seed``.

        The generators are seeded (and restored after) by :class:`SeededPipeline`, as for the CPU pipeline.
        """
        draw_all = lambda _: [view.draw(height, width) for view in self.views]  # noqa: E731
        return SeededPipeline(draw_all)(dict(sample_idx=SeededIndex(0, seed)))

    def augment(self, images: Sequence[torch.Tensor], seeds: Sequence[int]) -> List[torch.Tensor]:
        """The views of a batch, unnormalised.

        Args:
            images: Decoded images, ``(3, H, W)`` uint8 each, BGR (as mmcv loads them), on any device.
            seeds: Their augmentation seeds.

        Returns:
            One ``(N, 3, H', W')`` float tensor a view, RGB, whole numbers in 0-255.
        """
        params = [self.draw(seed, img.shape[-2], img.shape[-1]) for img, seed in zip(images, seeds)]
        rgb = [img.flip(0) for img in images]
        return [view.apply(rgb, [p[v] for p in params]) for v, view in enumerate(self.views)]

    def forward(self, data: dict, training: bool = False) -> Tuple[List[torch.Tensor], Optional[list]]:
        """Augment the batch on its device and normalise it.

        Args:
            data: ``pseudo_collate``'s batch of ``PackImageForDeviceAugment``: ``inputs`` a list of images,
                ``data_samples`` their data samples with the seed.
            training: Unused (the views are made whenever the batch holds the seeds).

        Returns:
            The list of views, each ``(N, 3, H', W')``, normalised; and the data samples.
        """
        samples: List[SelfSupDataSample] = data['data_samples']
        if not samples or SEED_KEY not in samples[0]:
            return super().forward(data, training)
        images, samples = self.cast_data([data['inputs'], samples])
        views = self.augment(images, [sample.metainfo[SEED_KEY] for sample in samples])
        if not self._channel_conversion:  # keep BGR as SelfSupDataPreprocessor does without bgr_to_rgb
            views = [view.flip(1) for view in views]
        if self._enable_normalize:
            views = [(view - self.mean) / self.std for view in views]
        return views, samples
