from .hooks import LossCurveHook
from .trainable_optim_constructor import TrainableOptimWrapperConstructor

__all__ = ['LossCurveHook', 'TrainableOptimWrapperConstructor']
