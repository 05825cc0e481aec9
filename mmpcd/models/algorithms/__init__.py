from .base_distiller import BaseDistiller
from .pcd import PCD

__all__ = ['BaseDistiller', 'PCD']
