from typing import List

import torch
from mmcv.cnn import build_norm_layer
from mmseg.models.decode_heads import FCNHead
from mmseg.registry import MODELS


@MODELS.register_module()
class BNFCNHead(FCNHead):
    """The FCN-like Cityscapes head of PCD (Sec. 4.1).

    A newly initialized BN on the backbone's output "for helping
    optimization", then mmseg's :class:`FCNHead` configured as the paper's
    two atrous blocks (3x3 conv, 256 channels, dilation 6, padding 6, BN,
    ReLU) and the 1x1 prediction conv; the logits are bilinearly upsampled
    to the input size by the segmentor.

    Args:
        **kwargs: :class:`FCNHead` arguments (``in_channels``, ``channels``,
            ``num_convs``, ``dilation``, ``norm_cfg``, ...; the input is
            not concatenated to the blocks' output).
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(concat_input=False, **kwargs)
        self.input_bn = build_norm_layer(self.norm_cfg, self.in_channels)[1]

    def _forward_feature(self, inputs: List[torch.Tensor]) -> torch.Tensor:
        """BN on the backbone map, then the atrous blocks."""
        x = self.input_bn(self._transform_inputs(inputs))
        return self.convs(x)
