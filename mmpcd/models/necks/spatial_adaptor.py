from typing import Dict, Mapping, Optional, Sequence

import torch
from mmengine.model import BaseModule
from torch import nn

from mmselfsup.registry import MODELS
from ..utils import load_state_dict_strict

_BN_STATS = ('running_mean', 'running_var', 'num_batches_tracked')


@MODELS.register_module()
class SpatialAdaptor(BaseModule):
    """The teacher's MLP projection head applied to every pixel (PCD, eq. 5-7).

    An image-level SSL head ``Linear - BN1d - ReLU - ... - Linear [- BN1d]``
    becomes ``Conv1x1 - BN2d - CWReLU - ... - Conv1x1``: each conv holds the
    Linear's weight, each BN2d the BN1d's affine parameters and running
    statistics, and ReLU becomes :class:`CWReLU`. With BN in eval mode the
    adaptor leaves the head's image-level output unchanged:
    ``avgpool(adaptor(t)) == head(avgpool(t))`` for any map ``t``. The layers
    keep the indices of the head's ``nn.Sequential`` so that a head's state
    dict loads with :meth:`load_mlp_state_dict`.

    Args:
        channels: Widths of the head's Linear layers, input first, e.g.
            ``(2048, 4096, 256)`` for MoCo v3 ResNet-50.
        bias: Whether the Linear layers have biases.
        last_bias: Whether the last Linear has one; None: as ``bias``
            (mmselfsup's BYOL neck has a bias on the first Linear only).
        last_bn: Keep a BN after the last Linear. The affine-free last BN of
            MoCo v3 is dropped by default (its static statistics slow
            convergence, Sec. 3.2).
        last_bn_affine: Whether that last BN has affine parameters.
        act_cfg: The activation between layers; ``CWReLU`` keeps the
            invariance, ``ReLU`` is ablation (d) of Table 3.
        init_cfg: Initialization config.
    """

    def __init__(self, channels: Sequence[int] = (2048, 4096, 256), bias: bool = False,
                 last_bias: Optional[bool] = None, last_bn: bool = False, last_bn_affine: bool = False,
                 act_cfg: Optional[dict] = None, init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if len(channels) < 2:
            raise ValueError(f'SpatialAdaptor needs at least an input and an output width, got channels={channels}')
        act_cfg = act_cfg or dict(type='CWReLU')
        layers = []
        last = len(channels) - 2
        for i, (c_in, c_out) in enumerate(zip(channels[:-1], channels[1:])):
            layers.append(nn.Conv2d(c_in, c_out, 1, bias=bias if i < last or last_bias is None else last_bias))
            if i < last:
                layers += [nn.BatchNorm2d(c_out), MODELS.build(act_cfg)]
        if last_bn:
            layers.append(nn.BatchNorm2d(channels[-1], affine=last_bn_affine))
        self.layers = nn.Sequential(*layers)
        self.channels = tuple(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Project every pixel of ``x`` (N, C_in, H, W) to (N, C_out, H, W)."""
        return self.layers(x)

    def load_mlp_state_dict(self, state_dict: Mapping[str, torch.Tensor], source: str = 'the MLP state dict') -> None:
        """Load the state dict of the MLP head this adaptor was shaped after.

        Linear weights (out, in) are reshaped to (out, in, 1, 1). The running
        statistics of a trailing affine-free BN that the adaptor dropped are
        ignored; any other mismatch raises
        :class:`~mmpcd.models.utils.CheckpointMismatchError`.

        Args:
            state_dict: Keys ``'{index}.{name}'`` as in the head's
                ``nn.Sequential.state_dict()``.
            source: Where it came from, for error messages.
        """
        dropped = str(len(self.layers))
        converted: Dict[str, torch.Tensor] = {}
        for key, value in state_dict.items():
            index, _, name = key.partition('.')
            if index == dropped and name in _BN_STATS:
                continue
            if index.isdigit() and int(index) < len(self.layers) and isinstance(
                    self.layers[int(index)], nn.Conv2d) and name == 'weight' and value.dim() == 2:
                value = value[:, :, None, None]
            converted[key] = value
        load_state_dict_strict(self.layers, converted, source,
                               f'an MLP head with Linear widths {self.channels} laid out as {self.layers}')

    @classmethod
    def from_mlp(cls, mlp: nn.Sequential, drop_last_bn: bool = True) -> 'SpatialAdaptor':
        """Build the adaptor of an MLP head, weights and BN statistics included.

        Args:
            mlp: ``Linear (- BN1d - ReLU - Linear)* [- BN1d]``, as released by
                image-level SSL methods.
            drop_last_bn: Drop a trailing BN1d without affine parameters.

        Returns:
            The adaptor, with the head's weights.
        """
        modules = list(mlp)
        last_bn = isinstance(modules[-1], nn.BatchNorm1d)
        trailing = modules.pop() if last_bn else None
        linears = modules[0::3]
        pattern_ok = all(isinstance(m, nn.Linear)
                         for m in linears) and all(isinstance(m, nn.BatchNorm1d) for m in modules[1::3]) and all(
                             isinstance(m, nn.ReLU) for m in modules[2::3]) and len(modules) % 3 == 1
        if not pattern_ok:
            raise ValueError('SpatialAdaptor.from_mlp expects Linear (- BatchNorm1d - ReLU - Linear)* '
                             f'[- BatchNorm1d], got {mlp}')
        if last_bn and trailing.affine is False and drop_last_bn:
            last_bn = False
        adaptor = cls(channels=[linears[0].in_features] + [m.out_features for m in linears], bias=linears[0].bias
                      is not None, last_bias=linears[-1].bias is not None, last_bn=last_bn,
                      last_bn_affine=bool(trailing is not None and trailing.affine))
        for layer, source in zip(adaptor.layers, modules + [trailing]):
            if isinstance(layer, nn.BatchNorm2d):
                layer.eps = source.eps
        adaptor.load_mlp_state_dict(mlp.state_dict(), source='SpatialAdaptor.from_mlp')
        return adaptor
