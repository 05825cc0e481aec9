"""The dense benchmark's pictures: mIoU bars with the seed spread, and predicted label maps beside the truth."""
import textwrap
from typing import Dict, List, NamedTuple, Sequence

import numpy as np
from PIL import Image

from .figure import panel_grid, plt, save

#: Colours of the label values (background, the classes) and of ignored pixels.
PALETTE = np.array([[0, 0, 0], [230, 159, 0], [86, 180, 233], [0, 158, 115]], dtype=np.uint8)
IGNORE_COLOUR = np.array([255, 255, 255], dtype=np.uint8)


def colour_labels(label: np.ndarray, ignore: int = 255) -> np.ndarray:
    """A label map (H, W) as RGB (H, W, 3): one colour a class, white where ignored."""
    rgb = PALETTE[np.clip(label, 0, len(PALETTE) - 1)]
    rgb[label == ignore] = IGNORE_COLOUR
    return rgb


def plot_miou_bars(miou: Dict[str, Dict[str, List[float]]], path: str, title: str,
                   ylabel: str = 'val mIoU (%)') -> None:
    """Grouped bars: for each row, the mean score of each readout (or metric), the error bar one standard deviation
    over seeds and every seed's value as a dot.

    Args:
        miou: ``{row: {readout: [score of each run]}}``.
        path: Output PNG.
        title: Figure title.
        ylabel: The scores' axis.
    """
    rows = list(miou)
    readouts = list(dict.fromkeys(r for values in miou.values() for r in values))
    fig, ax = plt.subplots(figsize=(1.6 + 0.9 * len(rows), 4.2), dpi=110)
    width = 0.8 / len(readouts)
    for j, readout in enumerate(readouts):
        x = np.arange(len(rows)) + (j - (len(readouts) - 1) / 2) * width
        values = [np.asarray(miou[row].get(readout, [np.nan])) for row in rows]
        ax.bar(x, [v.mean() for v in values], width, yerr=[v.std(ddof=1) if len(v) > 1 else 0 for v in values],
               capsize=3, label=readout, color=f'C{j}', alpha=0.8)
        for xi, v in zip(x, values):
            ax.plot(np.full(len(v), xi), v, 'k.', markersize=3)
    ax.set_xticks(np.arange(len(rows)))
    ax.set_xticklabels(rows, rotation=30, ha='right', fontsize=8)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    ax.grid(axis='y', alpha=0.3)
    fig.tight_layout()
    save(fig, path)


def plot_dense_predictions(image_paths: Sequence[str], labels: Sequence[np.ndarray],
                           predictions: Dict[str, Sequence[np.ndarray]], path: str) -> None:
    """One row per val image: the image, its label map, then each model's predicted label map.

    Args:
        image_paths: The images.
        labels: Their label maps (H, W).
        predictions: ``{title: [a predicted map (H, W) of each image]}``.
        path: Output PNG.
    """
    fig, axes = panel_grid(len(image_paths), 2 + len(predictions))
    for i, (image_path, label) in enumerate(zip(image_paths, labels)):
        panels = {'image': np.asarray(Image.open(image_path).convert('RGB')), 'ground truth': colour_labels(label)}
        panels.update({title: colour_labels(maps[i]) for title, maps in predictions.items()})
        for ax, (title, picture) in zip(axes[i], panels.items()):
            ax.imshow(picture)
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(textwrap.fill(title, 28), fontsize=8)
    save(fig, path)


class Instance(NamedTuple):
    """One object drawn on its image: its mask, box ``(x1, y1, x2, y2)`` and caption."""
    mask: np.ndarray  # (H, W) bool
    box: Sequence[float]
    caption: str


def plot_instance_predictions(image_paths: Sequence[str], instances: Dict[str, Sequence[Instance]], path: str) -> None:
    """One row per val image, one column per source (the ground truth, then each model): the image with the
    object's mask tinted, its box and its caption (class, score).

    Args:
        image_paths: The images.
        instances: ``{title: [the instance drawn on each image, or None]}``.
        path: Output PNG.
    """
    fig, axes = panel_grid(len(image_paths), len(instances))
    for i, image_path in enumerate(image_paths):
        image = np.asarray(Image.open(image_path).convert('RGB')).astype(np.float32)
        for ax, (title, per_image) in zip(axes[i], instances.items()):
            picture, instance = image.copy(), per_image[i]
            if instance is not None:
                picture[instance.mask] = 0.5 * picture[instance.mask] + 0.5 * np.array([230., 159., 0.])
                x1, y1, x2, y2 = instance.box
                ax.add_patch(plt.Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, edgecolor='cyan', linewidth=1.2))
                ax.text(x1, y1, instance.caption, fontsize=6, color='black', va='bottom',
                        bbox=dict(facecolor='cyan', alpha=0.7, pad=1, edgecolor='none'))
            ax.imshow(picture.astype(np.uint8))
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(textwrap.fill(title, 28), fontsize=8)
    save(fig, path)
