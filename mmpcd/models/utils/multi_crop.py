from typing import Callable, List

import torch


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
