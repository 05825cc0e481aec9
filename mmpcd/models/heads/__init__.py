from .dino_head import DINOHead
from .embedding_queue import EmbeddingQueue
from .feature_classifier import FeatureClassifier
from .image_contrast_head import ImageContrastHead
from .oss_head import OSSHead
from .pixel_contrast_head import PixelContrastHead
from .similarity_distill_head import SimilarityDistillHead

__all__ = [
    'DINOHead', 'EmbeddingQueue', 'FeatureClassifier', 'ImageContrastHead', 'OSSHead', 'PixelContrastHead',
    'SimilarityDistillHead'
]
