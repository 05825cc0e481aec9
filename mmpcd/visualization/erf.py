"""Effective receptive fields as heat maps, one panel per model, as in the PCD paper's Fig. 2."""
from typing import Dict, Sequence, Tuple

import torch
from matplotlib.patches import Rectangle

from ..analysis import AnalysedModel, effective_receptive_field, mass_centre, mass_radius, support
from .figure import panel_grid, save

#: Mass fractions whose squares are drawn and printed.
FRACTIONS = (0.5, 0.9)


def plot_erf(erfs: Dict[str, torch.Tensor], path: str, fractions: Sequence[float] = FRACTIONS) -> None:
    """Draw each ERF (H, W) scaled to its maximum, with the centred squares holding ``fractions`` of its mass.

    Args:
        erfs: ``{panel title: ERF}``, from :func:`mmpcd.analysis.effective_receptive_field`.
        path: Output PNG: one row of panels.
        fractions: Mass fractions whose squares are outlined (white: the first, red: the next).
    """
    fig, axes = panel_grid(1, len(erfs))
    for ax, (title, erf) in zip(axes[0], erfs.items()):
        ax.imshow((erf / erf.max()).numpy(), cmap='viridis', vmin=0, vmax=1)
        row, col = mass_centre(erf)
        radii = [mass_radius(erf, fraction) for fraction in fractions]
        for radius, colour in zip(radii, ('white', 'red', 'black')):
            ax.add_patch(
                Rectangle((col - radius - 0.5, row - radius - 0.5), 2 * radius + 1, 2 * radius + 1, fill=False,
                          edgecolor=colour, linewidth=1))
        radius_text = ', '.join(f'r{round(100 * f)} {r}' for f, r in zip(fractions, radii))
        ax.set_title(f'{title}\n{radius_text} px', fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    save(fig, path)


def draw_erfs(models: Sequence[Tuple[AnalysedModel, str]], images: torch.Tensor, path: str,
              fractions: Sequence[float] = FRACTIONS) -> Dict[str, dict]:
    """The ERF of each model's map over the same images, drawn side by side (:func:`plot_erf`).

    Args:
        models: ``(model, map name)`` pairs (:func:`mmpcd.analysis.models_from_arguments`).
        images: Unnormalized RGB images (N, 3, H, W), 0-255; each model normalizes them as its input.
        path: Output PNG.
        fractions: Mass fractions to measure.

    Returns:
        ``{title (:meth:`AnalysedModel.title`): dict(map=(h, w), support=fraction of input pixels with a
        non-zero gradient, radius={fraction: r})}``.
    """
    erfs, numbers = {}, {}
    for model, target in models:
        feature_map = model.map(target)
        erf = erfs[model.title(target)] = effective_receptive_field(feature_map, model.normalize(images))
        with torch.no_grad():
            map_size = tuple(feature_map(model.normalize(images[:1])).shape[2:])
        numbers[model.title(target)] = dict(map=map_size, support=support(erf).double().mean().item(),
                                            radius={f: mass_radius(erf, f)
                                                    for f in fractions})
    plot_erf(erfs, path, fractions)
    return numbers
