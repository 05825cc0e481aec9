from typing import List, Optional, Union

import torch
from mmengine.model import BaseModule
from torch import nn

from mmselfsup.registry import MODELS
from ..utils import GradientReversal


@MODELS.register_module()
class FeatureClassifier(BaseModule):
    """OSS's adversarial feature classifier D (OSS appendix A.1 "Feature classifier", pseudo-code lines 53-55).

    ``Linear (E -> 100) - BN - ReLU - Linear (100 -> 2)`` behind a :class:`GradientReversal` layer (``grl``, its
    ``alpha`` set each iteration by :class:`~mmpcd.engine.hooks.OSSHook`): D learns to tell teacher embeddings
    (label 0) from student ones (label 1), the networks get the reversed gradient, -α(n) times D's.

    Args:
        in_channels: Embedding width E (128).
        hidden_channels: Hidden width (100).
        init_cfg: Initialization config.
    """

    def __init__(self, in_channels: int = 128, hidden_channels: int = 100,
                 init_cfg: Optional[Union[List[dict], dict]] = None) -> None:
        super().__init__(init_cfg)
        self.grl = GradientReversal()
        self.mlp = nn.Sequential(nn.Linear(in_channels, hidden_channels), nn.BatchNorm1d(hidden_channels),
                                 nn.ReLU(inplace=True), nn.Linear(hidden_channels, 2))

    def loss(self, embeddings: torch.Tensor, label: int) -> torch.Tensor:
        """Cross-entropy of D's prediction for ``embeddings`` (N, E), all of class ``label`` (0 teacher, 1 student)."""
        logits = self.mlp(self.grl(embeddings))
        return nn.functional.cross_entropy(logits, logits.new_full((len(logits), ), label, dtype=torch.long))
