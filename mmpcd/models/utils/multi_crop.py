from typing import Callable, List, Tuple, Union

import torch
from torch import nn


def multi_crop_forward(network: Callable[[torch.Tensor], torch.Tensor], views: List[torch.Tensor]) -> torch.Tensor:
    """``network`` over every view, one forward per run of consecutive views of the same size (SwAV's and DINO's
    ``MultiCropWrapper``): the outputs, concatenated in view order, (sum of batch sizes, ...)."""
    outputs, start = [], 0
    while start < len(views):
        end = start + 1
        while end < len(views) and views[end].shape[-2:] == views[start].shape[-2:]:
            end += 1
        outputs.append(network(torch.cat(views[start:end])))
        start = end
    return torch.cat(outputs)


def multi_crop_embed(backbone: nn.Module, neck: nn.Module,
                     views: List[torch.Tensor]) -> Union[torch.Tensor, Tuple[torch.Tensor, ...]]:
    """``neck`` over the globally pooled last map of ``backbone`` for every view: the backbone once per run of views
    of one size, the neck once over all pooled features concatenated in view order, so that a BN in the neck
    normalizes over every view at once (facebookresearch/dino:utils.py ``MultiCropWrapper.forward``, "Run the head
    forward on the concatenated features"; saic-fi/SSLight:src/sslight/backbone/layer.py ``MultiCropWrapper``).

    Returns:
        The neck's output (a tensor or the neck's tuple) for the (sum of batch sizes, C) features.
    """
    return neck(multi_crop_forward(lambda x: backbone(x)[-1].mean(dim=(2, 3)), views))
