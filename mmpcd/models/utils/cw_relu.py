import torch
from torch import nn

from mmselfsup.registry import MODELS


@MODELS.register_module()
class CWReLU(nn.Module):
    """Channel-Wise ReLU (PCD, eq. 6).

    For each sample and channel the whole channel is kept if its spatial mean
    is positive and zeroed otherwise, so that global average pooling and the
    activation commute: ``avgpool(CWReLU(x)) == ReLU(avgpool(x))``.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Mask the channels of ``x`` (N, C, H, W) whose spatial mean is <= 0."""
        keep = x.mean(dim=(2, 3), keepdim=True) > 0
        return x * keep.to(x.dtype)
