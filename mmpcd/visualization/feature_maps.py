"""Feature maps beside their images: the channel mean and a 3-component PCA in RGB (the PCD appendix's Fig. 1)."""
from typing import Dict, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from ..analysis import AnalysedModel, pca
from .figure import panel_grid, save


def channel_mean(maps: torch.Tensor) -> torch.Tensor:
    """The mean over channels of maps (N, C, h, w), scaled to [0, 1] over all of them: (N, h, w)."""
    mean = maps.double().mean(dim=1)
    return (mean - mean.min()) / (mean.max() - mean.min()).clamp_min(1e-12)


def pca_rgb(maps: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """The first 3 principal components of the pixels of maps (N, C, h, w) as RGB in [0, 1].

    The components are fitted on the pixels of all the maps together, so a
    colour means the same in every image; each is min-max scaled.

    Returns:
        ``(rgb, explained)``: (N, h, w, 3) and the fraction of the pixels'
        variance each component explains (3,).
    """
    n, c, h, w = maps.shape
    projection, explained = pca(maps.permute(0, 2, 3, 1).reshape(-1, c), 3)
    low, high = projection.min(dim=0).values, projection.max(dim=0).values
    rgb = (projection - low) / (high - low).clamp_min(1e-12)
    return rgb.reshape(n, h, w, 3), explained


def upsample(values: torch.Tensor, size: Tuple[int, int]) -> np.ndarray:
    """Maps (N, h, w[, k]) resized bilinearly to ``size`` for display: (N, H, W[, k]), clipped to [0, 1]."""
    planes = values.unsqueeze(-1) if values.dim() == 3 else values
    resized = F.interpolate(planes.permute(0, 3, 1, 2).float(), size=size, mode='bilinear', align_corners=False)
    out = resized.permute(0, 2, 3, 1).clamp(0, 1).numpy()
    return out[..., 0] if values.dim() == 3 else out


def plot_feature_maps(images: np.ndarray, maps: Dict[str, torch.Tensor], path: str) -> Dict[str, torch.Tensor]:
    """A grid: one row per image, the image then, per model, its map's channel mean and its PCA in RGB.

    Args:
        images: The images shown, uint8 (N, H, W, 3).
        maps: ``{model label: maps of the N images (N, C, h, w)}``.
        path: Output PNG, ``(1 + 2 * len(maps))`` panels wide and N high.

    Returns:
        ``{model label: variance fraction of its 3 PCA components}``.
    """
    fig, axes = panel_grid(len(images), 1 + 2 * len(maps))
    size = images.shape[1:3]
    explained = {}
    for row, image in enumerate(images):
        axes[row, 0].imshow(image)
    axes[0, 0].set_title('image', fontsize=8)
    for index, (label, model_maps) in enumerate(maps.items()):
        rgb, explained[label] = pca_rgb(model_maps)
        means, colours = upsample(channel_mean(model_maps), size), upsample(rgb, size)
        h, w = model_maps.shape[2:]
        for row in range(len(images)):
            axes[row, 1 + 2 * index].imshow(means[row], cmap='inferno', vmin=0, vmax=1)
            axes[row, 2 + 2 * index].imshow(colours[row])
        axes[0, 1 + 2 * index].set_title(f'{label}\nchannel mean ({h}x{w})', fontsize=8)
        shares = ' '.join(f'{100 * e:.0f}' for e in explained[label])
        axes[0, 2 + 2 * index].set_title(f'{label}\nPCA RGB ({shares}% var)', fontsize=8)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    save(fig, path)
    return explained


@torch.no_grad()
def draw_feature_maps(models: Sequence[Tuple[AnalysedModel, str]], images: torch.Tensor,
                      path: str) -> Dict[str, torch.Tensor]:
    """Each model's map of the same images, rendered by :func:`plot_feature_maps`.

    Args:
        models: ``(model, map name)`` pairs.
        images: Unnormalized RGB images (N, 3, H, W), 0-255.
        path: Output PNG.

    Returns:
        ``{title (:meth:`AnalysedModel.title`): variance fraction of its 3 PCA components}``.
    """
    maps = {model.title(target): model.map(target)(model.normalize(images)) for model, target in models}
    shown = images.clamp(0, 255).round().byte().permute(0, 2, 3, 1).numpy()
    return plot_feature_maps(shown, maps, path)
