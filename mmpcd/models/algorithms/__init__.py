from .base_distiller import BaseDistiller
from .disco import DisCo
from .image_distiller import ImageDistiller
from .pcd import PCD
from .seed import SEED

__all__ = ['BaseDistiller', 'DisCo', 'ImageDistiller', 'PCD', 'SEED']
