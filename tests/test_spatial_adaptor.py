"""SpatialAdaptor and CW-ReLU: the exact properties of eq. 5-7."""
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
