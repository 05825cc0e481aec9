from .pixel_contrast_loss import pixel_contrast_loss

__all__ = ['pixel_contrast_loss']
