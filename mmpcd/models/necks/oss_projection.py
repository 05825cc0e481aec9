from typing import List, Mapping, Optional, Sequence, Tuple, Union

import torch
from mmengine.model import BaseModule
from torch import nn

from mmselfsup.registry import MODELS
from ..utils import load_state_dict_strict


@MODELS.register_module()
class OSSProjection(BaseModule):
    """SwAV's projection head with OSS's dropout views (OSS appendix A.1 "Multi-view generation").

    ``Linear1 (in -> 2048) - BN - ReLU - Linear2 (2048 -> 128)`` over the globally pooled backbone map, laid out as
    SwAV's ``projection_head`` (so that a released SwAV head loads as it is), then ℓ2 normalization. Each call
    returns the embedding ``z = normalize(h(f))`` and its dropout view ``z̃``: the same head with dropout at
    (Linear1, Linear2) at ``dropout`` rates, (0.1, 0.05) in OSS. Dropout acts on each Linear layer's input (the
    appendix says "dropout rates ... at (Linear1, Linear2)"; where exactly is not written).

    Args:
        in_channels: Width of the backbone's last map (2048 for ResNet-50, 512 for ResNet-18).
        hidden_channels: Width of Linear1 (2048).
        out_channels: Embedding width E (128).
        dropout: Dropout rates at (Linear1, Linear2) of the dropout view.
        num_prototypes: K prototypes held with the head (the frozen SwAV teacher of the offline variant), or None
            (online OSS: the prototypes are shared, in :class:`OSSHead`).
        init_cfg: Initialization config.
    """

    def __init__(self, in_channels: int, hidden_channels: int = 2048, out_channels: int = 128,
                 dropout: Sequence[float] = (0.1, 0.05), num_prototypes: Optional[int] = None,
                 init_cfg: Optional[Union[List[dict], dict]] = None) -> None:
        super().__init__(init_cfg)
        self.mlp = nn.Sequential(nn.Linear(in_channels, hidden_channels), nn.BatchNorm1d(hidden_channels),
                                 nn.ReLU(inplace=True), nn.Linear(hidden_channels, out_channels))
        self.dropout = tuple(dropout)
        self.prototypes = nn.Linear(out_channels, num_prototypes, bias=False) if num_prototypes else None

    def embed(self, x: torch.Tensor, dropout: Sequence[float] = (0., 0.)) -> torch.Tensor:
        """normalize(h(x)) of pooled features (N, C), with dropout at (Linear1, Linear2) in train mode."""
        linear1, bn, relu, linear2 = self.mlp
        x = relu(bn(linear1(nn.functional.dropout(x, dropout[0], self.training))))
        return nn.functional.normalize(linear2(nn.functional.dropout(x, dropout[1], self.training)), dim=1)

    def forward(self, x: Union[torch.Tensor, Sequence[torch.Tensor]]) -> Tuple[torch.Tensor, torch.Tensor]:
        """``(z, z̃)``, each (N, E), of a backbone map (N, C, h, w), its tuple, or pooled features (N, C)."""
        if not isinstance(x, torch.Tensor):
            x = x[-1]
        if x.dim() == 4:
            x = x.mean(dim=(2, 3))
        return self.embed(x), self.embed(x, self.dropout)

    def load_mlp_state_dict(self, state_dict: Mapping[str, torch.Tensor], source: str = 'the head state dict') -> None:
        """Load a released SwAV head (:class:`~mmpcd.models.teachers.FrozenTeacher`'s call): ``projection_head``
        keys ``'{index}.{name}'`` and, with ``num_prototypes``, ``prototypes.weight``; any mismatch raises
        :class:`~mmpcd.models.utils.CheckpointMismatchError`."""
        state_dict = {(k if k.startswith('prototypes.') else 'mlp.' + k): v for k, v in state_dict.items()}
        load_state_dict_strict(
            self, state_dict, source, f'a SwAV projection head {self.mlp}' +
            (f' and {self.prototypes.out_features} prototypes' if self.prototypes else ''))
