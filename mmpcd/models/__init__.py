from .algorithms import DINO, OSS, PCD, SEED, BaseDistiller, DisCo, ImageDistiller, OSSOffline
from .backbones import MobileNetV3Stages, TimmFeatureMap
from .data_preprocessors import DeviceAugmentDataPreprocessor
from .heads import (DINOHead, EmbeddingQueue, FeatureClassifier, ImageContrastHead, OSSHead, PixelContrastHead,
                    SimilarityDistillHead)
from .losses import pixel_contrast_loss, pixel_contrast_loss_dense, similarity_distillation_loss
from .necks import DINOProjection, OSSProjection, PixelMHSA, PixelProjection, SpatialAdaptor
from .teachers import FrozenTeacher
from .utils import CheckpointMismatchError, CWReLU, GradientReversal

__all__ = [
    'PCD', 'SEED', 'DisCo', 'DINO', 'OSS', 'OSSOffline', 'BaseDistiller', 'ImageDistiller', 'FrozenTeacher',
    'EmbeddingQueue', 'ImageContrastHead', 'PixelContrastHead', 'SimilarityDistillHead', 'DINOHead', 'OSSHead',
    'FeatureClassifier', 'pixel_contrast_loss', 'pixel_contrast_loss_dense', 'similarity_distillation_loss',
    'PixelMHSA', 'PixelProjection', 'SpatialAdaptor', 'DINOProjection', 'OSSProjection', 'CheckpointMismatchError',
    'CWReLU', 'GradientReversal', 'MobileNetV3Stages', 'TimmFeatureMap', 'DeviceAugmentDataPreprocessor'
]
