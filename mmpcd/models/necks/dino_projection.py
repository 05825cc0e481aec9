from typing import List, Optional, Sequence, Union

import torch
from mmengine.model import BaseModule
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

from mmselfsup.registry import MODELS


@MODELS.register_module()
class DINOProjection(BaseModule):
    """DINO's projection head (Caron et al., 2021, Sec. 3.1 and Appendix; facebookresearch/dino ``utils.DINOHead``,
    saic-fi/SSLight ``src/sslight/model/dino.py``).

    Global average pooling of the backbone's last map, an MLP (``num_layers`` Linear layers, GELU between them,
    optionally BN as SSLight's convolutional recipe uses), ℓ2 normalization of its ``bottleneck_channels``-d
    output, then a weight-normalized Linear layer without bias to ``out_channels`` (the prototypes), whose norm
    ``g`` is fixed to 1 when ``norm_last_layer``.

    Args:
        in_channels: Width of the backbone's last map.
        out_channels: K, the number of output dimensions (DINO: 65536; SSLight's CNNs: 4096).
        hidden_channels: Width of the hidden layers.
        bottleneck_channels: Width of the MLP's output.
        num_layers: Linear layers of the MLP (>= 2).
        with_bn: BN after each hidden Linear layer.
        norm_last_layer: Fix the last layer's weight norm ``g`` to 1.
        init_cfg: Initialization config (the MLP is initialized as DINO's: truncated normal, std 0.02).
    """

    def __init__(self, in_channels: int, out_channels: int = 65536, hidden_channels: int = 2048,
                 bottleneck_channels: int = 256, num_layers: int = 3, with_bn: bool = False,
                 norm_last_layer: bool = True, init_cfg: Optional[Union[List[dict], dict]] = None) -> None:
        super().__init__(init_cfg)
        if num_layers < 2:
            raise ValueError(f'DINOProjection needs num_layers >= 2 (a hidden layer); got {num_layers}')
        widths = [in_channels] + [hidden_channels] * (num_layers - 1)
        layers: List[nn.Module] = []
        for width_in, width_out in zip(widths[:-1], widths[1:]):
            layers += [nn.Linear(width_in, width_out)] + ([nn.BatchNorm1d(width_out)] if with_bn else []) + [nn.GELU()]
        self.mlp = nn.Sequential(*layers, nn.Linear(hidden_channels, bottleneck_channels))
        for m in self.mlp.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=.02)
                nn.init.zeros_(m.bias)
        self.last_layer = weight_norm(nn.Linear(bottleneck_channels, out_channels, bias=False))
        self.last_layer.parametrizations.weight.original0.data.fill_(1)
        self.norm_last_layer = norm_last_layer
        self.freeze_last_layer(False)

    def freeze_last_layer(self, frozen: bool) -> None:
        """Freeze (DINO's first epoch) or release the last layer; its norm stays fixed with ``norm_last_layer``."""
        weight = self.last_layer.parametrizations.weight
        weight.original1.requires_grad_(not frozen)
        weight.original0.requires_grad_(not (frozen or self.norm_last_layer))

    def forward(self, x: Union[torch.Tensor, Sequence[torch.Tensor]]) -> torch.Tensor:
        """The K-d output of the backbone's last map (a tensor or the backbone's tuple), (N, K)."""
        if not isinstance(x, torch.Tensor):
            x = x[-1]
        if x.dim() == 4:
            x = x.mean(dim=(2, 3))
        return self.last_layer(nn.functional.normalize(self.mlp(x), dim=-1))
