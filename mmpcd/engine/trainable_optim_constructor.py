from typing import List

from mmengine.optim import DefaultOptimWrapperConstructor
from torch import nn

from mmselfsup.registry import OPTIM_WRAPPER_CONSTRUCTORS


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class TrainableOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """mmengine's default constructor, over the trainable modules only.

    Modules without any parameter that requires a gradient (the frozen
    teacher) are left out of the optimizer, instead of being added and
    reported with one warning per parameter.
    """

    def add_params(self, params: List[dict], module: nn.Module, prefix: str = '', **kwargs) -> None:
        """Add the parameters of ``module`` unless it has nothing to train."""
        if any(p.requires_grad for p in module.parameters()):
            super().add_params(params, module, prefix=prefix, **kwargs)
