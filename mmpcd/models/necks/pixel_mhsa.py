from typing import Optional

import torch
from mmengine.model import BaseModule
from torch import nn

from mmselfsup.registry import MODELS


@MODELS.register_module()
class PixelMHSA(BaseModule):
    """Multi-head self-attention over the pixels of a map (PCD, Sec. 3.1-3.2).

    A regular MHSA (Vaswani et al.): in each head, queries, keys and values
    are 1x1 convs of the input; every pixel attends to every pixel of the
    same image; the heads are concatenated and projected back to
    ``in_channels`` by a 1x1 conv. Its output enters the loss; it is dropped
    after pre-training.

    Args:
        in_channels: Channels of the input and output. Defaults to 256.
        num_heads: Number of heads. Defaults to 8.
        head_channels: Embedding width of each head. Defaults to 64.
        act_cfg: An activation after the output projection, e.g.
            ``dict(type='ReLU')`` for variant (b) of Table 3; None (the
            paper's PCD) for none.
        init_cfg: Initialization config.
    """

    def __init__(self, in_channels: int = 256, num_heads: int = 8, head_channels: int = 64,
                 act_cfg: Optional[dict] = None, init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.num_heads = num_heads
        self.head_channels = head_channels
        inner = num_heads * head_channels
        self.query = nn.Conv2d(in_channels, inner, 1)
        self.key = nn.Conv2d(in_channels, inner, 1)
        self.value = nn.Conv2d(in_channels, inner, 1)
        self.proj = nn.Conv2d(inner, in_channels, 1)
        self.act = MODELS.build(act_cfg) if act_cfg is not None else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Relate all pixels of ``x`` (N, C, H, W); returns (N, C, H, W)."""
        n, _, h, w = x.shape

        def heads(conv: nn.Conv2d) -> torch.Tensor:  # (N, heads, HW, head_channels)
            return conv(x).reshape(n, self.num_heads, self.head_channels, h * w).transpose(2, 3)

        q, k, v = heads(self.query), heads(self.key), heads(self.value)
        # softmax(q k^T / sqrt(head_channels)) v, without materializing it where a fused kernel exists.
        out = nn.functional.scaled_dot_product_attention(q, k,
                                                         v).transpose(2,
                                                                      3).reshape(n, self.num_heads * self.head_channels,
                                                                                 h, w)
        return self.act(self.proj(out))
