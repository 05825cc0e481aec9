from typing import Optional, Tuple

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

    The default is the paper's text taken literally: "we append a regular
    MHSA module [49] to the end of φ ... The attention values of all heads
    are concatenated and then projected by a 1x1 conv layer to match with
    input features in dimension. The output of the MHSA module is used for
    computing the contrastive distillation loss" (Sec. 3.2): the projected
    attention output alone, no residual path, no normalisation, no positional
    encoding. At PyTorch's default initialisation its q·k logits are small,
    so each pixel attends to all pixels almost equally and the output's
    pixels are nearly the image's mean value map (docs/method.md, "The MHSA:
    what the paper fixes and what it leaves open"): PCD then starts as
    image-level PCD. Two variants keep the pixels apart:

    * ``residual=True``: ``x + MHSA(x)``, the sub-layer of a Transformer
      layer (Vaswani et al. 2017, Sec. 3.1: "We employ a residual connection
      around each of the two sub-layers"), without its LayerNorm;
    * ``residual=True, zero_init_proj=True``: the same with the output
      projection initialised to zero, so that the module starts as the
      identity and the attention's share grows only as training moves the
      projection (as the zero-initialised last layer of residual branches,
      Goyal et al. 2017).

    Args:
        in_channels: Channels of the input and output. Defaults to 256.
        num_heads: Number of heads. Defaults to 8.
        head_channels: Embedding width of each head. Defaults to 64.
        act_cfg: An activation at the very end (after the residual sum, with
            ``residual=True``), e.g. ``dict(type='ReLU')`` for variant (b) of
            Table 3; None (the paper's PCD) for none.
        residual: Add the input to the projected attention output. Defaults
            to False (the paper's text).
        zero_init_proj: Initialise the output projection's weight and bias to
            zero (the module starts as the identity). Needs ``residual=True``:
            without the residual path the output would be zero.
        init_cfg: Initialization config.
    """

    def __init__(self, in_channels: int = 256, num_heads: int = 8, head_channels: int = 64,
                 act_cfg: Optional[dict] = None, residual: bool = False, zero_init_proj: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        if zero_init_proj and not residual:
            raise ValueError('PixelMHSA: zero_init_proj=True without residual=True outputs zeros at initialisation '
                             '(nothing for the loss to learn from); set residual=True as well, or drop zero_init_proj')
        super().__init__(init_cfg=init_cfg)
        self.num_heads = num_heads
        self.head_channels = head_channels
        self.residual = residual
        self.zero_init_proj = zero_init_proj
        inner = num_heads * head_channels
        self.query = nn.Conv2d(in_channels, inner, 1)
        self.key = nn.Conv2d(in_channels, inner, 1)
        self.value = nn.Conv2d(in_channels, inner, 1)
        self.proj = nn.Conv2d(inner, in_channels, 1)
        self.act = MODELS.build(act_cfg) if act_cfg is not None else nn.Identity()
        self._zero_proj()

    def _zero_proj(self) -> None:
        if self.zero_init_proj:
            nn.init.zeros_(self.proj.weight)
            nn.init.zeros_(self.proj.bias)

    def init_weights(self) -> None:
        """The ``init_cfg`` initialisation, then the zero output projection again where ``zero_init_proj``."""
        super().init_weights()
        self._zero_proj()

    def heads(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Queries, keys and values of ``x`` (N, C, H, W), each (N, heads, HW, head_channels), pixels row-major."""
        n, _, h, w = x.shape
        return tuple(
            conv(x).reshape(n, self.num_heads, self.head_channels, h * w).transpose(2, 3)
            for conv in (self.query, self.key, self.value))

    def attention_weights(self, x: torch.Tensor) -> torch.Tensor:
        """The attention of each head, softmax(q k^T / sqrt(head_channels)) over the keys: (N, heads, HW, HW),
        written out (the forward pass fuses it); row i is what pixel i attends to."""
        q, k, _ = self.heads(x)
        return torch.softmax(q @ k.transpose(2, 3) / self.head_channels**0.5, dim=-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Relate all pixels of ``x`` (N, C, H, W); returns (N, C, H, W)."""
        n, _, h, w = x.shape
        q, k, v = self.heads(x)
        # softmax(q k^T / sqrt(head_channels)) v, without materializing it where a fused kernel exists.
        out = nn.functional.scaled_dot_product_attention(q, k, v).transpose(2, 3)
        out = self.proj(out.reshape(n, self.num_heads * self.head_channels, h, w))
        return self.act(x + out if self.residual else out)
