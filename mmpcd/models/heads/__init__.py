from .dino_head import DINOHead
from .image_contrast_head import ImageContrastHead
from .pixel_contrast_head import PixelContrastHead

__all__ = ['DINOHead', 'ImageContrastHead', 'PixelContrastHead']
