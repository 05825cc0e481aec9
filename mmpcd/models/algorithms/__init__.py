from .base_distiller import BaseDistiller
from .dino import DINO
from .oss import OSS
from .oss_offline import OSSOffline
from .pcd import PCD

__all__ = ['BaseDistiller', 'DINO', 'OSS', 'OSSOffline', 'PCD']
