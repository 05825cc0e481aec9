from .device_augment import DeviceAugmentDataPreprocessor
from .device_view import DeviceView

__all__ = ['DeviceAugmentDataPreprocessor', 'DeviceView']
