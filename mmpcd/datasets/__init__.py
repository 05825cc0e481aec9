from .device_view import DeviceView, build_views, draw_views, views_key
from .image_folder import ImageFolder
from .seeded_sampler import SeededAugmentationSampler, SeededIndex, SeededPipeline
from .transforms import BadImageError, CorruptImageWarning, LoadImageFromFileChecked
from .transforms_device import PackImageForDeviceAugment
from .view_sampling import matched_local_size, mean_pixel_scale_ratio

__all__ = [
    'DeviceView', 'build_views', 'draw_views', 'views_key', 'ImageFolder', 'SeededAugmentationSampler', 'SeededIndex',
    'SeededPipeline', 'BadImageError', 'CorruptImageWarning', 'LoadImageFromFileChecked', 'PackImageForDeviceAugment',
    'matched_local_size', 'mean_pixel_scale_ratio'
]
