from .dino_hook import DINOHook
from .loss_curve_hook import LossCurveHook

__all__ = ['DINOHook', 'LossCurveHook']
