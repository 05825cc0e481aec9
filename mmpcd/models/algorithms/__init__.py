from .pcd import PCD

__all__ = ['PCD']
