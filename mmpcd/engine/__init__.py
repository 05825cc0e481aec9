from .config_checks import adopt_resumed_seed, warn_risky_settings
from .hooks import DINOHook, LossCurveHook, OSSHook
from .trainable_optim_constructor import TrainableOptimWrapperConstructor

__all__ = [
    'DINOHook', 'LossCurveHook', 'OSSHook', 'TrainableOptimWrapperConstructor', 'adopt_resumed_seed',
    'warn_risky_settings'
]
