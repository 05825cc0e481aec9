from .image_folder import ImageFolder

__all__ = ['ImageFolder']
