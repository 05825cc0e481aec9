from .dino_hook import DINOHook
from .loss_curve_hook import LossCurveHook
from .non_finite_loss_hook import NonFiniteLossError, NonFiniteLossHook
from .online_eval_hook import OnlineEvalHook
from .oss_hook import OSSHook
from .world_size_hook import WorldSizeHook, WorldSizeMismatchError

__all__ = [
    'DINOHook', 'LossCurveHook', 'NonFiniteLossError', 'NonFiniteLossHook', 'OnlineEvalHook', 'OSSHook',
    'WorldSizeHook', 'WorldSizeMismatchError'
]
