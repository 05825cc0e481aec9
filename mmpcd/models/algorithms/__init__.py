from .base_distiller import BaseDistiller
from .dino import DINO
from .pcd import PCD

__all__ = ['BaseDistiller', 'DINO', 'PCD']
