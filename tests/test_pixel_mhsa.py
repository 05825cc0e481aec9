"""PixelMHSA against multi-head self-attention written out from its definition (Vaswani et al., 2017).

The reference works on each image, each head and each pixel separately, in float64: queries, keys and values are
the 1x1 convs' weights applied to the pixel vectors, head ``h`` owns the contiguous channels
``h * d .. (h + 1) * d`` of each, its attention is ``softmax_j(q_i . k_j / sqrt(d))`` over the keys ``j`` of the
same image, the heads are concatenated in order and projected back by the output 1x1 conv. The weights are random
and large enough that the attention is far from uniform, so a wrong scaling, a softmax over the queries instead of
the keys, a bad head split or attention across images or across the wrong pixel order changes the output by much
more than the tolerance (each checked in this file against the reference itself).
"""
import math
from typing import Optional

import pytest
import torch
from torch import nn

from mmpcd.analysis import pixel_spread
from mmpcd.models.necks.pixel_mhsa import PixelMHSA

C, HEADS, D = 12, 3, 4  # in_channels, heads, channels per head (inner width 12)


def conv_as_matrix(conv: nn.Conv2d):
    """The (out, in) weight and (out, ) bias of a 1x1 conv."""
    return conv.weight[:, :, 0, 0], conv.bias


def reference_mhsa(module: PixelMHSA, x: torch.Tensor, scale: Optional[float] = None, softmax_over_keys: bool = True,
                   interleaved_heads: bool = False) -> torch.Tensor:
    """softmax(Q K^T / sqrt(d)) V per image and head, pixel by pixel, then the output projection.

    ``scale``, ``softmax_over_keys`` and ``interleaved_heads`` give the wrong variants the tests rule out.
    """
    heads, d = module.num_heads, module.head_channels
    scale = 1 / math.sqrt(d) if scale is None else scale
    wq, bq = conv_as_matrix(module.query)
    wk, bk = conv_as_matrix(module.key)
    wv, bv = conv_as_matrix(module.value)
    wp, bp = conv_as_matrix(module.proj)
    n, c, h, w = x.shape
    out = torch.empty(n, c, h, w, dtype=torch.float64)
    for b in range(n):
        pixels = [x[b, :, i, j] for i in range(h) for j in range(w)]  # row-major pixel order
        q = [wq @ p + bq for p in pixels]
        k = [wk @ p + bk for p in pixels]
        v = [wv @ p + bv for p in pixels]
        concat = [torch.empty(heads * d, dtype=torch.float64) for _ in pixels]
        for head in range(heads):
            channels = (torch.arange(d) * heads + head) if interleaved_heads else torch.arange(head * d, (head + 1) * d)
            logits = torch.tensor([[float(q[i][channels] @ k[j][channels]) * scale for j in range(len(pixels))]
                                   for i in range(len(pixels))], dtype=torch.float64)
            attention = torch.softmax(logits, dim=1 if softmax_over_keys else 0)
            for i in range(len(pixels)):
                concat[i][channels] = sum(attention[i, j] * v[j][channels] for j in range(len(pixels)))
        for index, o in enumerate(concat):
            out[b, :, index // w, index % w] = wp @ o + bp
    return out


def random_module(seed: int, act_cfg: Optional[dict] = None, **kwargs) -> PixelMHSA:
    """A float64 PixelMHSA with random weights and biases, scaled so that the attention logits are of order 1-10."""
    torch.manual_seed(seed)
    module = PixelMHSA(in_channels=C, num_heads=HEADS, head_channels=D, act_cfg=act_cfg, **kwargs).double()
    for conv in (module.query, module.key, module.value, module.proj):
        nn.init.normal_(conv.weight, std=0.6)
        nn.init.normal_(conv.bias, std=0.3)
    return module.eval()


def random_input(seed: int, n: int = 2, h: int = 3, w: int = 5) -> torch.Tensor:
    return torch.randn(n, C, h, w, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@pytest.mark.parametrize('seed', range(3))
def test_matches_the_definition_per_head(seed: int):
    """The module's output is the definition's, to float64 precision, on a non-square map of two images."""
    module, x = random_module(seed), random_input(seed)
    with torch.no_grad():
        torch.testing.assert_close(module(x), reference_mhsa(module, x), rtol=1e-10, atol=1e-10)


def test_relu_variant_is_the_definition_then_relu():
    """Variant (b) of Table 3: ReLU after the output projection, nothing else changed."""
    module, x = random_module(5, act_cfg=dict(type='ReLU')), random_input(5)
    with torch.no_grad():
        torch.testing.assert_close(module(x), torch.relu(reference_mhsa(module, x)), rtol=1e-10, atol=1e-10)


def test_each_image_attends_only_to_itself():
    """Changing the second image leaves the first image's output bit for bit as it was."""
    module, x = random_module(1), random_input(1)
    y = x.clone()
    y[1] = torch.randn_like(y[1])
    with torch.no_grad():
        assert torch.equal(module(x)[0], module(y)[0])
        assert not torch.allclose(module(x)[1], module(y)[1])


def test_float32_default_module_matches_the_definition():
    """The paper's widths (256 in, 8 heads x 64) in float32 against the float64 reference of the same weights."""
    torch.manual_seed(0)
    module = PixelMHSA().eval()
    x = torch.randn(1, 256, 2, 3)
    with torch.no_grad():
        expected = reference_mhsa(module.double(), x.double())
        torch.testing.assert_close(module.float()(x).double(), expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize('wrong', ['scale 1', 'scale 1/d', 'softmax over queries', 'interleaved heads'])
def test_the_reference_tells_the_wrong_variants_apart(wrong: str):
    """The weights are non-trivial: each wrong variant differs from the right one by far more than the tolerance
    above, so the comparison with the module can fail for each of these mistakes."""
    module, x = random_module(0), random_input(0)
    variant = {
        'scale 1': dict(scale=1.0),
        'scale 1/d': dict(scale=1.0 / D),
        'softmax over queries': dict(softmax_over_keys=False),
        'interleaved heads': dict(interleaved_heads=True),
    }[wrong]
    with torch.no_grad():
        difference = (reference_mhsa(module, x, **variant) - reference_mhsa(module, x)).abs().max()
    assert difference > 1e-2


def test_residual_form_is_the_input_plus_the_definition():
    """``residual=True`` (issue 34): x + MHSA(x), the Transformer's residual sub-layer; with ``act_cfg`` the
    activation comes after the sum."""
    x = random_input(2)
    module = random_module(2, residual=True)
    with torch.no_grad():
        torch.testing.assert_close(module(x), x + reference_mhsa(module, x), rtol=1e-10, atol=1e-10)
    module = random_module(2, act_cfg=dict(type='ReLU'), residual=True)
    with torch.no_grad():
        torch.testing.assert_close(module(x), torch.relu(x + reference_mhsa(module, x)), rtol=1e-10, atol=1e-10)


def test_attention_weights_are_the_definitions():
    """attention_weights (read by mmpcd.analysis.attention) is softmax(q k^T / sqrt(d)) over the keys: multiplied
    by the values and projected, it gives the module's output."""
    module, x = random_module(3), random_input(3)
    n, _, h, w = x.shape
    with torch.no_grad():
        weights = module.attention_weights(x)
        _, _, v = module.heads(x)
        out = (weights @ v).transpose(2, 3).reshape(n, HEADS * D, h, w)
        torch.testing.assert_close(module.proj(out), module(x), rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(weights.sum(-1), torch.ones(n, HEADS, h * w, dtype=torch.float64))


@pytest.mark.parametrize('init_cfg', [None, dict(type='Kaiming', layer='Conv2d')])
def test_zero_init_proj_starts_as_the_identity(init_cfg):
    """``residual=True, zero_init_proj=True``: the output is the input at initialisation, also after
    init_weights() with an init_cfg that re-initialises every conv; the other convs keep their random init."""
    torch.manual_seed(0)
    module = PixelMHSA(in_channels=C, num_heads=HEADS, head_channels=D, residual=True, zero_init_proj=True,
                       init_cfg=init_cfg)
    module.init_weights()
    x = random_input(0).float()
    with torch.no_grad():
        assert torch.equal(module(x), x)
    assert module.query.weight.abs().sum() > 0


def test_zero_init_proj_without_residual_is_refused():
    with pytest.raises(ValueError, match='zero_init_proj=True without residual=True'):
        PixelMHSA(in_channels=C, zero_init_proj=True)


@pytest.mark.parametrize('kwargs, kept', [(dict(residual=True), 0.5), (dict(residual=True, zero_init_proj=True), 1.0)])
def test_residual_forms_keep_distinct_pixels_apart_at_init(kwargs, kept):
    """On a map whose pixels differ (a shared mean plus per-pixel noise, spread ~100%), a default-initialised
    PixelMHSA of the paper's widths nearly averages them (spread under 10% of the input's), while the residual form
    keeps more than half of the input's spread and the zero-projection form all of it."""
    x = torch.randn(4, 256, 1, 1) + torch.randn(4, 256, 4, 4, generator=torch.Generator().manual_seed(1))
    torch.manual_seed(0)
    literal = PixelMHSA()
    torch.manual_seed(0)
    variant = PixelMHSA(**kwargs)
    with torch.no_grad():
        assert pixel_spread(literal(x)).mean() < 0.1 * pixel_spread(x).mean()
        assert pixel_spread(variant(x)).mean() > (kept - 1e-6) * pixel_spread(x).mean()
