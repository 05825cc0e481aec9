from .embedding_queue import EmbeddingQueue
from .image_contrast_head import ImageContrastHead
from .pixel_contrast_head import PixelContrastHead
from .similarity_distill_head import SimilarityDistillHead

__all__ = ['EmbeddingQueue', 'ImageContrastHead', 'PixelContrastHead', 'SimilarityDistillHead']
