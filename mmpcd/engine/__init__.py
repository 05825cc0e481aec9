from .config_checks import adopt_resumed_seed, warn_risky_settings
from .hooks import LossCurveHook
from .trainable_optim_constructor import TrainableOptimWrapperConstructor

__all__ = ['LossCurveHook', 'TrainableOptimWrapperConstructor', 'adopt_resumed_seed', 'warn_risky_settings']
