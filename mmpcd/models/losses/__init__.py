from .pixel_contrast_loss import pixel_contrast_loss, pixel_contrast_loss_dense
from .similarity_distillation_loss import similarity_distillation_loss

__all__ = ['pixel_contrast_loss', 'pixel_contrast_loss_dense', 'similarity_distillation_loss']
