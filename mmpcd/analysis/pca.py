"""Principal components, for the RGB rendering of feature maps and the PCA embedding."""
from typing import Tuple

import torch


def pca(x: torch.Tensor, components: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """Project the rows of ``x`` (N, D) on their first principal components.

    Args:
        x: Samples by features.
        components: How many components to keep (at most min(N, D)).

    Returns:
        ``(projection, explained)``: the centred samples on the components
        (N, components), signs fixed so that each component's largest
        absolute loading is positive (deterministic), and the fraction of the
        total variance each component explains (components,).
    """
    if components > min(x.shape):
        raise ValueError(f'{components} components asked of {tuple(x.shape)} samples x features')
    centred = x.double() - x.double().mean(dim=0)
    _, singular, vh = torch.linalg.svd(centred, full_matrices=False)
    axes = vh[:components]
    axes = axes * axes.gather(1, axes.abs().argmax(dim=1, keepdim=True)).sign()
    variance = singular.pow(2)
    return centred @ axes.T, variance[:components] / variance.sum().clamp_min(1e-300)
