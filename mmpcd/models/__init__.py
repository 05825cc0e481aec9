from .algorithms import DINO, PCD
from .backbones import MobileNetV3Stages, TimmFeatureMap
from .heads import DINOHead, ImageContrastHead, PixelContrastHead
from .losses import pixel_contrast_loss, pixel_contrast_loss_dense
from .necks import DINOProjection, PixelMHSA, PixelProjection, SpatialAdaptor
from .teachers import FrozenTeacher
from .utils import CheckpointMismatchError, CWReLU

__all__ = [
    'PCD', 'DINO', 'DINOHead', 'DINOProjection', 'FrozenTeacher', 'ImageContrastHead', 'PixelContrastHead', 'pixel_contrast_loss',
    'pixel_contrast_loss_dense', 'PixelMHSA', 'PixelProjection', 'SpatialAdaptor', 'CheckpointMismatchError', 'CWReLU',
    'MobileNetV3Stages', 'TimmFeatureMap'
]
