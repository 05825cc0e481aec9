from .dino_hook import DINOHook
from .loss_curve_hook import LossCurveHook
from .oss_hook import OSSHook

__all__ = ['DINOHook', 'LossCurveHook', 'OSSHook']
