from typing import List

from mmengine.optim import DefaultOptimWrapperConstructor
from torch import nn

from mmselfsup.registry import OPTIM_WRAPPER_CONSTRUCTORS


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class TrainableOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """mmengine's default constructor, over the trainable modules only, with LARS exclusion by shape.

    Modules without any parameter that requires a gradient (the frozen
    teacher) are left out of the optimizer, instead of being added and
    reported with one warning per parameter.

    ``paramwise_cfg`` takes one key besides mmengine's: ``flat_lars_exclude=True`` gives every 1-D parameter
    (biases and the weights and biases of norm layers, whatever their module is named) ``lars_exclude=True``, which
    mmselfsup's ``LARS`` reads, unless a custom key sets ``lars_exclude`` itself. With mmengine's
    ``flat_decay_mult=0.`` (weight decay 0 for every 1-D parameter) it is the recipes' "biases and BN excluded from
    weight decay and LARS adaptation" decided by shape, as saic-fi/SSLight:src/sslight/utils/param_utils.py
    ``get_params`` ("if len(param.shape) == 1: not_regularized.append(param)", with ``WD_FACTOR_FOR_BIAS = 0.0``
    and ``LARS_EXCLUDE_BIAS = True`` in its ``src/config/defaults.py``) and facebookresearch/dino:utils.py
    ``get_params_groups`` ("we do not regularize biases nor Norm parameters") do.
    """

    def add_params(self, params: List[dict], module: nn.Module, prefix: str = '', **kwargs) -> None:
        """Add the parameters of ``module`` unless it has nothing to train; at the root (``prefix=''``), mark the
        1-D ones ``lars_exclude`` when ``flat_lars_exclude`` is set."""
        if not any(p.requires_grad for p in module.parameters()):
            return
        first = len(params)
        super().add_params(params, module, prefix=prefix, **kwargs)
        if not prefix and self.paramwise_cfg.get('flat_lars_exclude', False):
            for group in params[first:]:
                if all(p.ndim == 1 for p in group['params']):
                    group.setdefault('lars_exclude', True)
