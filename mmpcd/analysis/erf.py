"""The effective receptive field (Luo et al., NeurIPS 2016), as drawn in the PCD paper's Fig. 2.

The ERF of a map is the gradient of its centre unit (summed over channels)
with respect to the input, in absolute value, summed over the input
channels and averaged over real images. Its size is measured by the radius
of the smallest centred square that holds a given fraction of the gradient
mass.
"""
from typing import Callable, Tuple

import torch


def effective_receptive_field(feature_map: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor,
                              batch_size: int = 8) -> torch.Tensor:
    """The ERF of the centre unit of ``feature_map`` over ``images``.

    Args:
        feature_map: Images (N, 3, H, W) -> map (N, C, h, w); the module must
            be in eval mode, so that each image's map depends on that image
            alone (the gradient of the batch's sum is then each image's own).
        images: Normalized images (N, 3, H, W).
        batch_size: Images per forward / backward pass.

    Returns:
        ``|d sum_c out[c, h // 2, w // 2] / d x|`` summed over the input
        channels, averaged over the images: (H, W), float64.
    """
    total = torch.zeros(images.shape[2:], dtype=torch.float64)
    with torch.enable_grad():
        for start in range(0, len(images), batch_size):
            x = images[start:start + batch_size].clone().requires_grad_(True)
            out = feature_map(x)
            if out.dim() != 4:
                raise ValueError(f'the map has shape {tuple(out.shape)}, not (N, C, h, w)')
            grad, = torch.autograd.grad(out[:, :, out.shape[2] // 2, out.shape[3] // 2].sum(), x)
            total += grad.abs().sum(dim=1).sum(dim=0).double()
    return total / len(images)


def mass_centre(erf: torch.Tensor) -> Tuple[int, int]:
    """The pixel nearest the centre of mass of ``erf`` (H, W)."""
    weights = erf / erf.sum()
    rows, cols = torch.arange(erf.shape[0], dtype=erf.dtype), torch.arange(erf.shape[1], dtype=erf.dtype)
    return int(round((weights.sum(1) * rows).sum().item())), int(round((weights.sum(0) * cols).sum().item()))


def mass_radius(erf: torch.Tensor, fraction: float) -> int:
    """The radius r of the smallest square (side 2r + 1) centred on the mass centre holding ``fraction`` of the mass.

    Args:
        erf: A non-negative map (H, W), e.g. from :func:`effective_receptive_field`.
        fraction: In (0, 1].

    Raises:
        ValueError: ``fraction`` outside (0, 1], or ``erf`` holds no mass.
    """
    if not 0 < fraction <= 1:
        raise ValueError(f'fraction must be in (0, 1], got {fraction}')
    erf = erf.double()
    total = erf.sum().item()
    if not total > 0:
        raise ValueError('the ERF holds no gradient mass (all zero): the map does not depend on the input')
    row, col = mass_centre(erf)
    radius = 0  # the square of radius max(H, W) covers the image from any centre: the loop ends
    while erf[max(row - radius, 0):row + radius + 1, max(col - radius, 0):col + radius + 1].sum().item() \
            < fraction * total * (1 - 1e-9):
        radius += 1
    return radius


def support(erf: torch.Tensor) -> torch.Tensor:
    """The input pixels with a non-zero gradient: a boolean (H, W) mask."""
    return erf > 0
