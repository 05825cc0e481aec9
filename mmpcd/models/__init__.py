from .algorithms import PCD
from .backbones import MobileNetV3Stages, TimmFeatureMap
from .heads import ImageContrastHead, PixelContrastHead
from .losses import pixel_contrast_loss, pixel_contrast_loss_dense
from .necks import PixelMHSA, PixelProjection, SpatialAdaptor
from .teachers import FrozenTeacher
from .utils import CheckpointMismatchError, CWReLU

__all__ = [
    'PCD', 'FrozenTeacher', 'ImageContrastHead', 'PixelContrastHead', 'pixel_contrast_loss',
    'pixel_contrast_loss_dense', 'PixelMHSA', 'PixelProjection', 'SpatialAdaptor', 'CheckpointMismatchError', 'CWReLU',
    'MobileNetV3Stages', 'TimmFeatureMap'
]
