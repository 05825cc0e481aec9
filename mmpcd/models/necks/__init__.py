from .dino_projection import DINOProjection
from .oss_projection import OSSProjection
from .pixel_mhsa import PixelMHSA
from .pixel_projection import PixelProjection
from .spatial_adaptor import SpatialAdaptor

__all__ = ['DINOProjection', 'OSSProjection', 'PixelMHSA', 'PixelProjection', 'SpatialAdaptor']
