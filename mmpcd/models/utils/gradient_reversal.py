import math

import torch
from torch import nn


def grl_alpha(step: int, max_steps: int) -> float:
    """The gradient reversal scale at ``step`` of ``max_steps``: 2 / (1 + exp(-10 n / N)) - 1, from 0 to ~1
    (OSS, appendix A.1 "Feature classifier"; Ganin & Lempitsky, 2015). The layer multiplies gradients by its
    negative."""
    return 2. / (1. + math.exp(-10. * step / max_steps)) - 1.


class _ReverseGradient(torch.autograd.Function):

    @staticmethod
    def forward(ctx, x: torch.Tensor, alpha: float) -> torch.Tensor:
        ctx.alpha = alpha
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        return -ctx.alpha * grad, None


class GradientReversal(nn.Module):
    """Identity forward; the gradient is multiplied by ``-alpha`` backward (Ganin & Lempitsky, 2015).

    ``alpha`` is set every iteration by :class:`~mmpcd.engine.hooks.OSSHook` with :func:`grl_alpha`.
    """

    def __init__(self, alpha: float = 0.) -> None:
        super().__init__()
        self.alpha = alpha

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` itself, with the reversed gradient."""
        return _ReverseGradient.apply(x, self.alpha)

    def extra_repr(self) -> str:
        return f'alpha={self.alpha}'
