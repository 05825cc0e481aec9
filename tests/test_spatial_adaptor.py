"""SpatialAdaptor and CW-ReLU: the exact properties of eq. 5-7."""
from typing import Dict, List, Tuple

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from mmpcd.models import CheckpointMismatchError, CWReLU, SpatialAdaptor
from mmpcd.testing import mocov3_mlp, randomize_bn_statistics


def _avgpool(x: torch.Tensor) -> torch.Tensor:
    return F.adaptive_avg_pool2d(x, 1).flatten(1)


def _check_invariance(mlp: nn.Sequential, adaptor: SpatialAdaptor, kept: nn.Sequential, t: torch.Tensor):
    mlp.eval(), adaptor.eval(), kept.eval()
    with torch.no_grad():
        torch.testing.assert_close(_avgpool(adaptor(t)), kept(_avgpool(t)), rtol=1e-5, atol=1e-5)


def test_cw_relu_commutes_with_global_pooling():
    x = torch.randn(4, 32, 5, 7, dtype=torch.float64)
    out = CWReLU()(x)
    torch.testing.assert_close(_avgpool(out), F.relu(_avgpool(x)), rtol=0, atol=1e-12)
    # whole channels are kept or zeroed, never single pixels
    kept = out.flatten(2).ne(0).any(dim=2)
    assert torch.equal(out.flatten(2)[kept], x.flatten(2)[kept])
    assert torch.equal(kept, x.mean(dim=(2, 3)) > 0)


def test_mocov3_head_invariance():
    torch.manual_seed(0)
    mlp = mocov3_mlp(2, 2048, 4096, 256).double()
    randomize_bn_statistics(mlp, torch.Generator().manual_seed(1))
    adaptor = SpatialAdaptor.from_mlp(mlp).double()
    # the affine-free last BN is dropped; the rest is Conv - BN - CWReLU - Conv
    assert [type(m) for m in adaptor.layers] == [nn.Conv2d, nn.BatchNorm2d, CWReLU, nn.Conv2d]
    t = torch.randn(3, 2048, 7, 7, dtype=torch.float64) + 0.5
    _check_invariance(mlp, adaptor, mlp[:-1], t)


def test_mocov3_head_invariance_float32_224px_map():
    torch.manual_seed(0)
    mlp = mocov3_mlp(2, 2048, 4096, 256)
    randomize_bn_statistics(mlp, torch.Generator().manual_seed(1))
    adaptor = SpatialAdaptor.from_mlp(mlp)
    _check_invariance(mlp, adaptor, mlp[:-1], torch.rand(2, 2048, 7, 7))


@pytest.mark.parametrize('seed', range(6))
def test_invariance_random_heads(seed):
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    widths = torch.randint(3, 40, (int(torch.randint(2, 5, (1, ), generator=gen)), ), generator=gen).tolist()
    bias = bool(seed % 2)
    layers = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(nn.Linear(a, b, bias=bias))
        if i < len(widths) - 2:
            layers += [nn.BatchNorm1d(b, eps=1e-3 * (seed + 1)), nn.ReLU()]
    last = seed % 3  # 0: no last BN, 1: affine-free last BN, 2: affine last BN
    if last:
        layers.append(nn.BatchNorm1d(widths[-1], affine=last == 2))
    mlp = nn.Sequential(*layers).double()
    randomize_bn_statistics(mlp, gen)
    for m in mlp.modules():
        if isinstance(m, nn.BatchNorm1d) and m.affine:
            nn.init.normal_(m.weight), nn.init.normal_(m.bias)
    for drop_last_bn in (True, False):
        adaptor = SpatialAdaptor.from_mlp(mlp, drop_last_bn=drop_last_bn).double()
        dropped = last == 1 and drop_last_bn
        kept = mlp[:-1] if dropped else mlp
        h, w = torch.randint(1, 9, (2, ), generator=gen).tolist()
        t = torch.randn(2, widths[0], h, w, generator=gen, dtype=torch.float64)
        _check_invariance(mlp, adaptor, kept, t)


def test_relu_instead_of_cw_relu_breaks_invariance():
    """Ablation (d) of Table 3: with plain ReLU the property fails, so the test above can fail."""
    torch.manual_seed(0)
    mlp = mocov3_mlp(2, 64, 128, 32).double()
    adaptor = SpatialAdaptor(channels=(64, 128, 32), act_cfg=dict(type='ReLU')).double()
    adaptor.load_mlp_state_dict(mlp.state_dict())
    mlp.eval(), adaptor.eval()
    t = torch.randn(2, 64, 7, 7, dtype=torch.float64)
    assert not torch.allclose(_avgpool(adaptor(t)), mlp[:-1](_avgpool(t)), atol=1e-3)


def test_adaptor_keeps_spatial_map():
    adaptor = SpatialAdaptor(channels=(2048, 4096, 256))
    assert adaptor(torch.randn(2, 2048, 7, 7)).shape == (2, 256, 7, 7)


def test_load_mlp_state_dict_names_bad_keys():
    adaptor = SpatialAdaptor(channels=(16, 32, 8))
    state = mocov3_mlp(2, 16, 32, 8).state_dict()
    state['5.weight'] = torch.zeros(3)
    del state['1.running_var']
    state['3.weight'] = torch.zeros(9, 32)
    with pytest.raises(CheckpointMismatchError) as err:
        adaptor.load_mlp_state_dict(state, source='head.pth')
    msg = str(err.value)
    assert 'head.pth' in msg and '5.weight' in msg and '1.running_var' in msg and '3.weight' in msg


def test_from_mlp_rejects_unknown_layers():
    with pytest.raises(ValueError, match='Linear'):
        SpatialAdaptor.from_mlp(nn.Sequential(nn.Linear(4, 4), nn.GELU(), nn.Linear(4, 4)))


def released_heads() -> Dict[str, nn.Sequential]:
    """Small heads in the released layouts of SPEC.md (Table 5), each with its own bias pattern and depth.

    MoCo v3: Linear - BN1d - ReLU - Linear - BN1d(affine=False) (the last BN is dropped by the adaptor); BYOL: a
    bias on the first Linear only; SwAV: biases; Barlow Twins: two BN + ReLU stages; and a head whose last BN has
    affine parameters (kept).
    """
    byol = nn.Sequential(nn.Linear(10, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 6, bias=False))
    swav = nn.Sequential(nn.Linear(10, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 6))
    barlow = nn.Sequential(nn.Linear(10, 16, bias=False), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 12, bias=False),
                           nn.BatchNorm1d(12), nn.ReLU(), nn.Linear(12, 6, bias=False))
    affine_last = nn.Sequential(nn.Linear(10, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 6), nn.BatchNorm1d(6))
    return dict(mocov3=mocov3_mlp(2, 10, 16, 6), byol=byol, swav=swav, barlow=barlow, affine_last=affine_last)


def randomized(mlp: nn.Sequential, seed: int) -> nn.Sequential:
    """``mlp`` in float64 and eval mode, with random weights, biases, BN affine parameters and statistics, all
    values float32 numbers (``from_mlp`` builds a float32 adaptor and loads the head into it)."""
    gen = torch.Generator().manual_seed(seed)
    mlp = mlp.double()
    for m in mlp.modules():
        if isinstance(m, nn.Linear):
            m.weight.data.copy_(torch.randn(m.weight.shape, generator=gen, dtype=torch.float64) * 0.5)
            if m.bias is not None:
                m.bias.data.copy_(torch.randn(m.bias.shape, generator=gen, dtype=torch.float64) * 0.5)
        if isinstance(m, nn.BatchNorm1d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=gen, dtype=torch.float64) * 0.5)
            m.running_var.copy_(torch.rand(m.num_features, generator=gen, dtype=torch.float64) + 0.5)
            if m.affine:
                m.weight.data.copy_(torch.randn(m.num_features, generator=gen, dtype=torch.float64))
                m.bias.data.copy_(torch.randn(m.num_features, generator=gen, dtype=torch.float64) * 0.5)
    for tensor in mlp.state_dict().values():
        if tensor.is_floating_point():
            tensor.copy_(tensor.float())
    return mlp.eval()


def per_pixel_reference(mlp: nn.Sequential, t: torch.Tensor) -> Tuple[torch.Tensor, List[torch.Tensor]]:
    """Eq. 5-7 from the released MLP: every Linear and BN1d applied to each pixel's vector on its own, each ReLU
    replaced by CW-ReLU (SPEC.md, eq. 6): channel c of the image is kept whole when the mean over the pixels of
    its pre-activation is > 0, zeroed otherwise.

    Returns:
        The (N, C_out, H, W) map, and each CW-ReLU stage's (N, C) keep decisions.
    """
    n, _, h, w = t.shape
    out, decisions = [], []
    for b in range(n):
        pixels = [t[b, :, i, j] for i in range(h) for j in range(w)]
        image_decisions = []
        for layer in mlp:
            if isinstance(layer, (nn.Linear, nn.BatchNorm1d)):
                pixels = [layer(p[None])[0] for p in pixels]
            elif isinstance(layer, nn.ReLU):
                keep = (sum(pixels) / len(pixels)) > 0
                image_decisions.append(keep)
                pixels = [p * keep for p in pixels]
            else:
                raise TypeError(f'unexpected layer {layer}')
        out.append(torch.stack(pixels, dim=1).reshape(-1, h, w))
        decisions.append(image_decisions)
    return torch.stack(out), [torch.stack(stage) for stage in zip(*decisions)]


@pytest.mark.parametrize('name', ['mocov3', 'byol', 'swav', 'barlow', 'affine_last'])
def test_adapted_head_is_the_released_mlp_at_every_pixel(name: str):
    """The adaptor's map equals, pixel by pixel, the released MLP with CW-ReLU for ReLU (eq. 5-7) -- not only
    after pooling: an adaptor that broadcast the pooled head to every pixel, or used a per-pixel ReLU, fails.
    The CW-ReLU decisions are those of the released head on the pooled input (ReLU of its pre-activation)."""
    mlp = randomized(released_heads()[name], seed=3)
    adaptor = SpatialAdaptor.from_mlp(mlp).double().eval()
    kept = mlp[:-1] if name == 'mocov3' else mlp  # MoCo v3's affine-free last BN is dropped (Sec. 3.2)
    t = torch.randn(3, 10, 4, 5, generator=torch.Generator().manual_seed(4), dtype=torch.float64) + 0.2
    with torch.no_grad():
        expected, decisions = per_pixel_reference(kept, t)
        torch.testing.assert_close(adaptor(t), expected, rtol=1e-12, atol=1e-12)
        # the channel-wise decision is the released head's ReLU on the pooled input
        relus = [i for i, layer in enumerate(kept) if isinstance(layer, nn.ReLU)]
        for index, keep in zip(relus, decisions):
            assert torch.equal(keep, kept[:index](_avgpool(t)) > 0)
        # the case is not trivial: channels both kept and zeroed, kept channels with negative pixels (a per-pixel
        # ReLU would differ) and an output that varies over the pixels (a broadcast pooled head would differ)
        pre, _ = per_pixel_reference(kept[:relus[0]], t)
        keep = decisions[0][:, :, None, None].expand_as(pre)
        assert decisions[0].any() and not decisions[0].all()
        assert (pre[keep] < 0).any() and (pre[~keep] > 0).any()
        assert not torch.allclose(expected, expected.mean(dim=(2, 3), keepdim=True).expand_as(expected), atol=1e-3)


def test_per_pixel_reference_rejects_a_broadcast_or_per_pixel_relu_adaptor():
    """The per-pixel comparison above fails for the two wrong adaptors that pass the pooling test: the pooled
    head broadcast to every pixel, and plain ReLU (ablation (d)) -- so the test can fail."""
    mlp = randomized(released_heads()['swav'], seed=3)
    t = torch.randn(3, 10, 4, 5, generator=torch.Generator().manual_seed(4), dtype=torch.float64) + 0.2
    with torch.no_grad():
        expected, _ = per_pixel_reference(mlp, t)
        broadcast = mlp(_avgpool(t))[:, :, None, None].expand_as(expected)
        torch.testing.assert_close(_avgpool(broadcast), _avgpool(expected))  # passes the pooling test
        assert not torch.allclose(broadcast, expected, atol=1e-3)
        relu = SpatialAdaptor(channels=(10, 16, 6), bias=True, act_cfg=dict(type='ReLU')).double().eval()
        relu.load_mlp_state_dict(mlp.state_dict())
        assert not torch.allclose(relu(t), expected, atol=1e-3)
