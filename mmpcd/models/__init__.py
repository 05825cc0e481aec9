from .algorithms import PCD, SEED, DisCo
from .backbones import MobileNetV3Stages, TimmFeatureMap
from .heads import EmbeddingQueue, ImageContrastHead, PixelContrastHead, SimilarityDistillHead
from .losses import pixel_contrast_loss, pixel_contrast_loss_dense, similarity_distillation_loss
from .necks import PixelMHSA, PixelProjection, SpatialAdaptor
from .teachers import FrozenTeacher
from .utils import CheckpointMismatchError, CWReLU

__all__ = [
    'PCD', 'SEED', 'DisCo', 'FrozenTeacher', 'EmbeddingQueue', 'ImageContrastHead', 'PixelContrastHead',
    'SimilarityDistillHead', 'pixel_contrast_loss', 'pixel_contrast_loss_dense', 'similarity_distillation_loss',
    'PixelMHSA', 'PixelProjection', 'SpatialAdaptor', 'CheckpointMismatchError', 'CWReLU',
    'MobileNetV3Stages', 'TimmFeatureMap'
]
