"""Pooled features of several models in 2-D (t-SNE or PCA), coloured by class, one panel per model."""
import os.path as osp
from typing import Dict, List, Sequence, Tuple

import numpy as np
import torch

from ..analysis import AnalysedModel, load_raw_images, pca, rankme
from ..evaluation.linear_probe import linear_probe, pooled_features, read_labelled_list
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


def draw_embeddings(models: Sequence[Tuple[AnalysedModel, str]], data_root: str, size: int, path: str,
                    method: str = 'tsne', probe: bool = True, seed: int = 0) -> Dict[str, Dict[str, float]]:
    """Embed each model's pooled val features in 2-D and draw them by class, with their RankMe and linear-probe top-1.

    The data are a labelled set in the layout of ``data/cifar10_mini``
    (``meta/{train,val}.txt`` of ``relative/path label`` lines, images under
    ``train/`` and ``val/``; class names are the folders of the val list).
    The features are those the CPU distillation benchmark probes: the map,
    global-average pooled, of images resized to ``size``.

    Args:
        models: ``(model, map name)`` pairs.
        data_root: The labelled set.
        size: Input resolution.
        path: Output PNG, one panel per model.
        method: ``'tsne'`` or ``'pca'`` (:func:`embed_2d`).
        probe: Also fit the linear probe (train split -> top-1 on val,
            :func:`mmpcd.evaluation.linear_probe`) and put it in the titles.
        seed: Seed of t-SNE.

    Returns:
        ``{title (:meth:`AnalysedModel.title`): {'rankme': RankMe of the pooled val features
        (:func:`mmpcd.analysis.rankme`), 'dims': their width, 'top1': val top-1 (%), only with probe}}``.
    """

    def split(name: str) -> Tuple[List[str], torch.Tensor]:
        return read_labelled_list(osp.join(data_root, 'meta', f'{name}.txt'), osp.join(data_root, name))

    val_paths, val_y = split('val')
    val_x = load_raw_images(val_paths, size)
    if probe:
        train_paths, train_y = split('train')
        train_x = load_raw_images(train_paths, size)
    names = {int(y): osp.basename(osp.dirname(p)) for p, y in zip(val_paths, val_y)}
    class_names = [names.get(i, str(i)) for i in range(int(val_y.max()) + 1)]
    embeddings, numbers = {}, {}
    for model, target in models:
        feature_map = model.map(target)
        val_features = pooled_features(feature_map, model.normalize(val_x))
        title = model.title(target)
        numbers[title] = dict(rankme=rankme(val_features), dims=val_features.shape[1])
        caption = f'RankMe {numbers[title]["rankme"]:.1f} of {numbers[title]["dims"]}'
        if probe:
            numbers[title]['top1'], _ = linear_probe(pooled_features(feature_map, model.normalize(train_x)), train_y,
                                                     val_features, val_y)
            caption = f'probe top-1 {numbers[title]["top1"]:.1f}%, {caption}'
        embeddings[f'{title}\n{caption}'] = embed_2d(val_features, method, seed)
    plot_embeddings(embeddings, val_y.tolist(), class_names, path)
    return numbers
