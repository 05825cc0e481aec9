from .dino_hook import DINOHook
from .loss_curve_hook import LossCurveHook
from .non_finite_loss_hook import ExplodingLossError, NonFiniteLossError, NonFiniteLossHook
from .online_eval_hook import OnlineEvalError, OnlineEvalHook
from .oss_hook import OSSHook
from .schedule_guard_hook import BatchSizeMismatchError, ScheduleGuardHook, WorldSizeMismatchError

__all__ = [
    'BatchSizeMismatchError', 'DINOHook', 'ExplodingLossError', 'LossCurveHook', 'NonFiniteLossError',
    'NonFiniteLossHook', 'OnlineEvalError', 'OnlineEvalHook', 'OSSHook', 'ScheduleGuardHook', 'WorldSizeMismatchError'
]
