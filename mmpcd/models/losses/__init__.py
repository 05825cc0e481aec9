from .pixel_contrast_loss import pixel_contrast_loss, pixel_contrast_loss_dense

__all__ = ['pixel_contrast_loss', 'pixel_contrast_loss_dense']
