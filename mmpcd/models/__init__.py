from .algorithms import DINO, OSS, PCD, OSSOffline
from .backbones import MobileNetV3Stages, TimmFeatureMap
from .heads import DINOHead, FeatureClassifier, ImageContrastHead, OSSHead, PixelContrastHead
from .losses import pixel_contrast_loss, pixel_contrast_loss_dense
from .necks import DINOProjection, OSSProjection, PixelMHSA, PixelProjection, SpatialAdaptor
from .teachers import FrozenTeacher
from .utils import CheckpointMismatchError, CWReLU, GradientReversal

__all__ = [
    'PCD', 'FrozenTeacher', 'ImageContrastHead', 'PixelContrastHead', 'pixel_contrast_loss',
    'pixel_contrast_loss_dense', 'PixelMHSA', 'PixelProjection', 'SpatialAdaptor', 'CheckpointMismatchError', 'CWReLU',
    'MobileNetV3Stages', 'TimmFeatureMap', 'DINO', 'DINOHead', 'DINOProjection', 'OSS', 'OSSOffline', 'OSSHead',
    'OSSProjection', 'FeatureClassifier', 'GradientReversal'
]
