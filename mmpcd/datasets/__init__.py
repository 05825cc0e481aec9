from .image_folder import ImageFolder
from .transforms import BadImageError, LoadImageFromFileChecked

__all__ = ['ImageFolder', 'BadImageError', 'LoadImageFromFileChecked']
