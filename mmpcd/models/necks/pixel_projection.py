from collections import OrderedDict
from typing import Optional, Sequence, Union

import torch
from mmengine.model import BaseModule
from torch import nn

from mmselfsup.registry import MODELS


def _pixel_mlp(in_channels: int, hid_channels: Sequence[int], out_channels: int, bias: bool) -> nn.Sequential:
    """``Conv - BN - ReLU`` per hidden width, then ``Conv`` to ``out_channels``; names ``fc1, bn, relu, fc2``
    with one hidden layer, ``fc1, bn1, relu1, fc2, bn2, relu2, fc3`` with two."""
    widths = [in_channels, *hid_channels, out_channels]
    layers = []
    for i, (c_in, c_out) in enumerate(zip(widths[:-1], widths[1:]), 1):
        layers.append((f'fc{i}', nn.Conv2d(c_in, c_out, 1, bias=bias)))
        if i < len(widths) - 1:
            suffix = '' if len(hid_channels) == 1 else str(i)
            layers += [(f'bn{suffix}', nn.BatchNorm2d(c_out)), (f'relu{suffix}', nn.ReLU(inplace=True))]
    return nn.Sequential(OrderedDict(layers))


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
        hid_channels: Hidden width, or the widths of several hidden layers
            (a teacher head of three Linear layers, Barlow Twins). Defaults
            to 4096.
        out_channels: Output width, the teacher head's. Defaults to 256.
        num_mlps: Number of consecutive MLPs. Defaults to 2.
        bias: Whether the convs have biases (MoCo v3 heads have none).
        act_cfg: An activation after φ, e.g. ``dict(type='ReLU')`` for
            variant (c) of Table 3; None (the paper's PCD) for none.
        init_cfg: Initialization config.
    """

    def __init__(self, in_channels: int = 512, hid_channels: Union[int, Sequence[int]] = 4096, out_channels: int = 256,
                 num_mlps: int = 2, bias: bool = False, act_cfg: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        hid_channels = [hid_channels] if isinstance(hid_channels, int) else list(hid_channels)
        self.in_channels = in_channels
        self.mlps = nn.Sequential(*[
            _pixel_mlp(in_channels if i == 0 else out_channels, hid_channels, out_channels, bias)
            for i in range(num_mlps)
        ])
        self.act = MODELS.build(act_cfg) if act_cfg is not None else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Project a map (N, C_s, H, W) to (N, out_channels, H, W)."""
        return self.act(self.mlps(x))
