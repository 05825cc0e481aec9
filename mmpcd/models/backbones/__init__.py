from .mobilenet_v3_stages import MOBILENET_V3_LARGE_STAGES, MobileNetV3Stages
from .timm_feature_map import TimmFeatureMap

__all__ = ['MOBILENET_V3_LARGE_STAGES', 'MobileNetV3Stages', 'TimmFeatureMap']
