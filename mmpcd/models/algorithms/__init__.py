from .base_distiller import BaseDistiller
from .dino import DINO
from .disco import DisCo
from .image_distiller import ImageDistiller
from .oss import OSS
from .oss_offline import OSSOffline
from .pcd import PCD
from .seed import SEED

__all__ = ['BaseDistiller', 'DINO', 'DisCo', 'ImageDistiller', 'OSS', 'OSSOffline', 'PCD', 'SEED']
