"""The two-view augmentation of the pre-training pipeline on the model's device, seeded as the CPU pipeline."""
from typing import List, Optional, Sequence, Tuple

import torch

from mmpcd.datasets.device_view import build_views, draw_views, views_key
from mmpcd.datasets.transforms_device import PARAMS_KEY, SEED_KEY, VIEWS_KEY
from mmselfsup.models.utils import SelfSupDataPreprocessor
from mmselfsup.registry import MODELS
from mmselfsup.structures import SelfSupDataSample


@MODELS.register_module()
class DeviceAugmentDataPreprocessor(SelfSupDataPreprocessor):
    """mmselfsup's ``SelfSupDataPreprocessor`` that first makes the views of ``MultiView`` on the inputs' device.

    The data loader's workers read and decode (``LoadImageFromFileChecked``, then ``PackImageForDeviceAugment``,
    collated by ``pseudo_collate``); this preprocessor makes each sample's views on the device the model runs on
    (the GPU), batched, then converts BGR to RGB and normalises as ``SelfSupDataPreprocessor``.

    Each sample's parameters are drawn from its seed of ``SeededAugmentationSampler`` with the generators seeded
    by :class:`SeededPipeline` and by the CPU transforms' own calls, in the CPU pipeline's order
    (:class:`DeviceView`): by the workers when ``PackImageForDeviceAugment`` has the same ``views`` (checked by
    digest), else here. For a given seed the crops, flips, colour jitter factors and orders, grayscale, blur
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
        self.views = build_views(views)
        self.views_key = views_key(views)

    def draw(self, seed: int, height: int, width: int) -> List[dict]:
        """The parameters of every view of a ``height`` x ``width`` image whose augmentation seed is ``seed``
        (:func:`~mmpcd.datasets.device_view.draw_views`)."""
        return draw_views(self.views, seed, height, width)

    def augment(self, images: Sequence[torch.Tensor], seeds: Sequence[int],
                params: Optional[Sequence[List[dict]]] = None) -> List[torch.Tensor]:
        """The views of a batch, unnormalised.

        Args:
            images: Decoded images, ``(3, H, W)`` uint8 each, BGR (as mmcv loads them), on any device.
            seeds: Their augmentation seeds.
            params: Each image's parameters, drawn by the data workers (``PackImageForDeviceAugment(views=...)``);
                None: drawn here, in the main process, from the seeds.

        Returns:
            One ``(N, 3, H', W')`` float tensor a view, RGB, whole numbers in 0-255.
        """
        if params is None:
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
        params = None
        if PARAMS_KEY in samples[0]:
            keys = {sample.metainfo[VIEWS_KEY] for sample in samples}
            if keys != {self.views_key}:
                raise ValueError(
                    f'the data workers drew the views\' parameters for other views (PackImageForDeviceAugment\'s '
                    f'views, digest {sorted(keys)}) than DeviceAugmentDataPreprocessor applies (digest '
                    f'{self.views_key}): give both the same views (configs/_base_/datasets/'
                    'imagenet_pcd_device_augment.py passes one variable to both)')
            params = [sample.metainfo[PARAMS_KEY] for sample in samples]
        views = self.augment(images, [sample.metainfo[SEED_KEY] for sample in samples], params)
        if not self._channel_conversion:  # keep BGR as SelfSupDataPreprocessor does without bgr_to_rgb
            views = [view.flip(1) for view in views]
        if self._enable_normalize:
            views = [(view - self.mean) / self.std for view in views]
        return views, samples
