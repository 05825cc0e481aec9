"""Teacher checkpoints with random weights in the released key layouts.

They let the demo and the tests run the real loading path without the
released files (which cannot be downloaded at run time). A checkpoint made
here carries ``RANDOM_TEACHER_KEY`` so that loading it logs a warning.
"""
from typing import Callable, Dict

import torch
import torchvision
from torch import nn

from .checkpoint_formats import RANDOM_TEACHER_KEY


def mocov3_mlp(num_layers: int, input_dim: int, mlp_dim: int, output_dim: int,
               last_bn: bool = True) -> nn.Sequential:
    """MoCo v3's ``_build_mlp``: Linear (no bias) - BN1d - ReLU ... - Linear - BN1d(affine=False)."""
    layers = []
    for i in range(num_layers):
        dim1 = input_dim if i == 0 else mlp_dim
        dim2 = output_dim if i == num_layers - 1 else mlp_dim
        layers.append(nn.Linear(dim1, dim2, bias=False))
        if i < num_layers - 1:
            layers += [nn.BatchNorm1d(dim2), nn.ReLU(inplace=True)]
        elif last_bn:
            layers.append(nn.BatchNorm1d(dim2, affine=False))
    return nn.Sequential(*layers)


def randomize_bn_statistics(module: nn.Module, generator: torch.Generator) -> None:
    """Give every BN non-trivial running statistics (released models have them)."""
    for m in module.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.running_mean.copy_(torch.randn(m.num_features, generator=generator) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=generator) + 0.5)


def mocov3_resnet50(seed: int = 0) -> Dict:
    """A checkpoint laid out like MoCo v3's ``r-50-1000ep.pth.tar``."""
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    state_dict = {}
    for branch in ('base_encoder', 'momentum_encoder'):
        encoder = torchvision.models.resnet50()
        encoder.fc = mocov3_mlp(2, 2048, 4096, 256)
        randomize_bn_statistics(encoder, generator)
        state_dict.update({f'module.{branch}.{k}': v for k, v in encoder.state_dict().items()})
    predictor = mocov3_mlp(2, 256, 4096, 256, last_bn=False)
    state_dict.update({f'module.predictor.{k}': v for k, v in predictor.state_dict().items()})
    return dict(epoch=1000, arch='resnet50', state_dict=state_dict, **{RANDOM_TEACHER_KEY: True})


RANDOM_CHECKPOINTS: Dict[str, Callable[[int], Dict]] = {
    'mocov3': mocov3_resnet50,
}
