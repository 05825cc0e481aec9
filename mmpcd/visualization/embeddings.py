"""Pooled features of several models in 2-D (t-SNE or PCA), coloured by class, one panel per model."""
from typing import Dict, Sequence

import numpy as np
import torch

from ..analysis import pca
from .figure import panel_grid, save

METHODS = ('tsne', 'pca')


def embed_2d(features: torch.Tensor, method: str = 'tsne', seed: int = 0) -> np.ndarray:
    """Features (N, D), standardized per dimension, embedded in 2-D: (N, 2).

    Args:
        features: One row per image.
        method: ``'tsne'`` (scikit-learn's Barnes-Hut
            t-SNE, PCA init, perplexity min(30, (N - 1) / 3)) or ``'pca'``
            (the first two principal components).
        seed: Seed of t-SNE.
    """
    x = features.double()
    x = (x - x.mean(dim=0)) / x.std(dim=0).clamp_min(1e-6)
    if method == 'pca':
        return pca(x, 2)[0].numpy()
    if method != 'tsne':
        raise ValueError(f'method must be one of {METHODS}, got {method!r}')
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits

    # One thread: for the few hundred points drawn, OpenMP threads only add waiting (20x slower on a busy 2-core CPU)
    with threadpool_limits(limits=1):
        return TSNE(n_components=2, perplexity=min(30.0, (len(x) - 1) / 3), init='pca',
                    random_state=seed).fit_transform(x.numpy())


def plot_embeddings(embeddings: Dict[str, np.ndarray], labels: Sequence[int], class_names: Sequence[str],
                    path: str) -> None:
    """One scatter panel per model, points coloured by class; the first panel carries the legend.

    Args:
        embeddings: ``{panel title: (N, 2)}``.
        labels: The class of each of the N points.
        class_names: Name of each class index.
        path: Output PNG, one row of ``len(embeddings)`` panels.
    """
    labels = np.asarray(labels)
    fig, axes = panel_grid(1, len(embeddings))
    for index, (ax, (title, xy)) in enumerate(zip(axes[0], embeddings.items())):
        for cls in np.unique(labels):
            points = xy[labels == cls]
            ax.scatter(points[:, 0], points[:, 1], s=4, color=f'C{cls % 10}', label=class_names[cls])
        ax.set_title(title, fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
        if index == 0:
            ax.legend(fontsize=4, markerscale=1.5, loc='best', handletextpad=0.1, borderpad=0.2)
    save(fig, path)


def draw_embeddings(features: Dict[str, torch.Tensor], labels: Sequence[int], class_names: Sequence[str],
                    numbers: Dict[str, Dict[str, float]], path: str, method: str = 'tsne', seed: int = 0) -> None:
    """Embed each model's pooled features in 2-D (:func:`embed_2d`) and draw them by class, with the numbers
    :func:`mmpcd.evaluation.embeddings.pooled_val_features` measured of them in the titles.

    Args:
        features: ``{title: (N, C) pooled features}``, one panel each.
        labels: The class of each of the N images.
        class_names: Name of each class index.
        numbers: ``{title: {'rankme', 'dims', and 'top1' where probed}}``.
        path: Output PNG.
        method: ``'tsne'`` or ``'pca'``.
        seed: Seed of t-SNE.
    """
    embeddings = {}
    for title, pooled in features.items():
        caption = f'RankMe {numbers[title]["rankme"]:.1f} of {numbers[title]["dims"]}'
        if 'top1' in numbers[title]:
            caption = f'probe top-1 {numbers[title]["top1"]:.1f}%, {caption}'
        embeddings[f'{title}\n{caption}'] = embed_2d(pooled, method, seed)
    plot_embeddings(embeddings, labels, class_names, path)
