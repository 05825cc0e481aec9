"""Pooled features of several models on a labelled set, with their RankMe and linear-probe top-1 (what the
embeddings figure draws)."""
import os.path as osp
from typing import Dict, List, NamedTuple, Sequence, Tuple

import torch

from ..analysis import AnalysedModel, load_raw_images, rankme
from ..datasets.image_lists import read_labelled_list
from .linear_probe import linear_probe, pooled_features


class PooledValFeatures(NamedTuple):
    """What :func:`pooled_val_features` measured: per model title, its pooled val features and numbers."""

    features: Dict[str, torch.Tensor]  # title -> (N, C)
    labels: torch.Tensor  # (N, ) val classes
    class_names: List[str]
    numbers: Dict[str, Dict[str, float]]  # title -> {'rankme', 'dims', 'top1' (with probe)}


def pooled_val_features(models: Sequence[Tuple[AnalysedModel, str]], data_root: str, size: int,
                        probe: bool = True) -> PooledValFeatures:
    """Each model's pooled val features, their RankMe and, with ``probe``, their linear-probe top-1.

    The data are a labelled set in the layout of ``data/cifar10_mini``
    (``meta/{train,val}.txt`` of ``relative/path label`` lines, images under
    ``train/`` and ``val/``; class names are the folders of the val list).
    The features are those the CPU distillation benchmark probes: the map,
    global-average pooled, of images resized to ``size``.

    Args:
        models: ``(model, map name)`` pairs.
        data_root: The labelled set.
        size: Input resolution.
        probe: Also fit the linear probe (train split -> top-1 on val,
            :func:`~.linear_probe.linear_probe`).

    Returns:
        Features and numbers keyed by :meth:`AnalysedModel.title`: ``rankme``,
        RankMe of the pooled val features (:func:`mmpcd.analysis.rankme`),
        ``dims`` their width, ``top1`` the val top-1 (%), only with ``probe``.
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
    features, numbers = {}, {}
    for model, target in models:
        feature_map = model.map(target)
        title = model.title(target)
        features[title] = pooled_features(feature_map, model.normalize(val_x))
        numbers[title] = dict(rankme=rankme(features[title]), dims=features[title].shape[1])
        if probe:
            numbers[title]['top1'], _ = linear_probe(pooled_features(feature_map, model.normalize(train_x)), train_y,
                                                     features[title], val_y)
    return PooledValFeatures(features, val_y, class_names, numbers)
