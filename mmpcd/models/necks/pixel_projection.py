from collections import OrderedDict
from typing import Optional

import torch
from mmengine.model import BaseModule
from torch import nn

from mmselfsup.registry import MODELS


def _pixel_mlp(in_channels: int, hid_channels: int, out_channels: int, bias: bool) -> nn.Sequential:
    # 'bn' in the name: the schedules' custom_keys exclude it from weight decay and LARS.
    return nn.Sequential(OrderedDict(
        fc1=nn.Conv2d(in_channels, hid_channels, 1, bias=bias),
        bn=nn.BatchNorm2d(hid_channels),
        relu=nn.ReLU(inplace=True),
        fc2=nn.Conv2d(hid_channels, out_channels, 1, bias=bias)))


@MODELS.register_module()
class PixelProjection(BaseModule):
    """The student's projection φ (PCD, Sec. 3.2), applied to every pixel.

    Two consecutive MLPs shaped like the adapted teacher head, with plain
    ReLU, as 1x1 convs: ``Conv(C_s→hid) - BN - ReLU - Conv(hid→out)`` then
    ``Conv(out→hid) - BN - ReLU - Conv(hid→out)``. No pooling: the spatial
    map is kept.

    Args:
        in_channels: Channels of the student backbone's output (512 for
            ResNet-18/34, 2048 for ResNet-50).
        hid_channels: Hidden width. Defaults to 4096.
        out_channels: Output width, the teacher head's. Defaults to 256.
        num_mlps: Number of consecutive MLPs. Defaults to 2.
        bias: Whether the convs have biases (MoCo v3 heads have none).
        init_cfg: Initialization config.
    """

    def __init__(self,
                 in_channels: int = 512,
                 hid_channels: int = 4096,
                 out_channels: int = 256,
                 num_mlps: int = 2,
                 bias: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.mlps = nn.Sequential(*[
            _pixel_mlp(in_channels if i == 0 else out_channels, hid_channels, out_channels, bias)
            for i in range(num_mlps)
        ])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Project a map (N, C_s, H, W) to (N, out_channels, H, W)."""
        return self.mlps(x)
