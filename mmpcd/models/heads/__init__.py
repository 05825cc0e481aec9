from .dino_head import DINOHead
from .feature_classifier import FeatureClassifier
from .image_contrast_head import ImageContrastHead
from .oss_head import OSSHead
from .pixel_contrast_head import PixelContrastHead

__all__ = ['DINOHead', 'FeatureClassifier', 'ImageContrastHead', 'OSSHead', 'PixelContrastHead']
