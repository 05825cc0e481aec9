"""The worker's half of the device augmentation path: pack the decoded image and its augmentation seed."""
import numpy as np
import torch
from mmcv.transforms import BaseTransform

from mmselfsup.registry import TRANSFORMS
from mmselfsup.structures import SelfSupDataSample


@TRANSFORMS.register_module()
class PackImageForDeviceAugment(BaseTransform):
    """Pack the decoded image, whole, and its augmentation seed for ``DeviceAugmentDataPreprocessor``.

    Goes after ``LoadImageFromFileChecked`` in place of ``MultiView`` and ``PackSelfSupInputs``: the workers only
    read and decode, and the views are made on the model's device. ``inputs`` is the image as a ``(3, H, W)``
    uint8 tensor in the loader's channel order (BGR), of its own size (collate with ``pseudo_collate``);
    ``data_samples`` holds the seed of the sample's index (``aug_seed``, from ``SeededAugmentationSampler``) and
    the ``meta_keys`` of the results.

    Args:
        meta_keys: Keys of the results copied into the data sample's metainfo.

    Raises:
        ValueError: The index carries no seed (the loader's sampler is not ``SeededAugmentationSampler``), or the
            image is not a 3-channel image.
    """

    def __init__(self, meta_keys: tuple = ('img_path', )) -> None:
        super().__init__()
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        """Pack ``results['img']`` and the seed of ``results['sample_idx']``."""
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
        sample.set_metainfo({'aug_seed': int(seed), **{key: results[key] for key in self.meta_keys}})
        inputs = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))
        return dict(inputs=inputs, data_samples=sample)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(meta_keys={self.meta_keys})'
