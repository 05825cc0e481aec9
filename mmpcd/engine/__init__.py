from .config_checks import adopt_resumed_seed, warn_risky_settings
from .hooks import DINOHook, LossCurveHook
from .trainable_optim_constructor import TrainableOptimWrapperConstructor

__all__ = ['DINOHook', 'LossCurveHook', 'TrainableOptimWrapperConstructor', 'adopt_resumed_seed', 'warn_risky_settings']
