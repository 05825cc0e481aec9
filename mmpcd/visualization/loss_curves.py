"""Training curves (loss, lr, ... against iteration) as a PNG, with the chance level of a contrastive loss."""
import math
import os.path as osp
from typing import Dict, List, Optional, Sequence

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402

from ..fileio import atomic_write  # noqa: E402


def chance_loss(num_negatives: int) -> float:
    """The InfoNCE loss of a student that knows nothing, ``log(K + 1)``: one positive among K + 1 equal logits."""
    return math.log(num_negatives + 1)


def plot_training_curves(runs: Dict[str, List[Dict[str, Sequence[float]]]], path: str, keys: Sequence[str] = ('loss', ),
                         num_negatives: Optional[int] = None, title: str = 'training') -> None:
    """Draw each of ``keys`` against iteration, one panel per key, one line per run.

    Args:
        runs: ``{label: [run 1, run 2, ...]}``, each run ``{'iter': [...],
            key: [...]}`` (as :func:`mmpcd.analysis.read_training_log` gives);
            the runs of a label share its colour (seeds of one row).
        path: Output PNG (or another format of matplotlib, by its
            extension), written all at once.
        keys: The scalars to draw; ``lr`` is drawn on a log scale.
        num_negatives: K of the contrastive loss: the ``loss`` panel gets the
            chance line ``log(K + 1)``; None draws no line.
        title: Figure title.

    Raises:
        KeyError: a run lacks ``iter`` or one of ``keys``.
    """
    fig, axes = plt.subplots(len(keys), 1, figsize=(7, 1.2 + 3 * len(keys)), dpi=120, sharex=True, squeeze=False)
    for ax, key in zip(axes[:, 0], keys):
        for colour, (label, label_runs) in enumerate(runs.items()):
            for run, series in enumerate(label_runs):
                missing = {'iter', key} - set(series)
                if missing:
                    raise KeyError(f'{label}, run {run + 1}: no {sorted(missing)} in the log '
                                   f'(it has {sorted(series)})')
                ax.plot(series['iter'], series[key], color=f'C{colour}', linewidth=1, alpha=0.8,
                        label=label if run == 0 else None)
        if key == 'loss' and num_negatives is not None:
            ax.axhline(chance_loss(num_negatives), color='black', linestyle='--', linewidth=1,
                       label=f'chance, log(K+1) = log({num_negatives + 1}) = {chance_loss(num_negatives):.2f}')
        if key == 'lr':
            ax.set_yscale('log')
        ax.set_ylabel(key)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    axes[-1, 0].set_xlabel('iteration')
    axes[0, 0].set_title(title)
    fig.tight_layout()
    with atomic_write(path) as f:
        fig.savefig(f, format=osp.splitext(path)[1][1:] or 'png')
    plt.close(fig)


def plot_loss_curves(curves: Dict[str, Sequence[Sequence[float]]], path: str, num_negatives: Optional[int] = None,
                     title: str = 'training loss') -> None:
    """Draw per-iteration losses (``{label: [losses of run 1, run 2, ...]}``) with :func:`plot_training_curves`."""
    runs = {
        label: [dict(iter=range(1,
                                len(losses) + 1), loss=losses) for losses in label_runs]
        for label, label_runs in curves.items()
    }
    plot_training_curves(runs, path, ('loss', ), num_negatives, title)
