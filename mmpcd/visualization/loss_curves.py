"""Training-loss curves as a PNG, with the chance level of a contrastive loss."""
import math
import os.path as osp
from typing import Dict, Optional, Sequence

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402

from ..fileio import atomic_write  # noqa: E402


def chance_loss(num_negatives: int) -> float:
    """The InfoNCE loss of a student that knows nothing, ``log(K + 1)``: one positive among K + 1 equal logits."""
    return math.log(num_negatives + 1)


def plot_loss_curves(curves: Dict[str, Sequence[Sequence[float]]], path: str, num_negatives: Optional[int] = None,
                     title: str = 'training loss') -> None:
    """Draw loss against iteration, one line per label, and the chance line ``log(K + 1)``.

    Args:
        curves: ``{label: [losses of run 1 by iteration, run 2, ...]}``; the
            runs of a label share its colour (seeds of one row).
        path: Output PNG (or another format of matplotlib, by its
            extension), written all at once.
        num_negatives: K of the contrastive loss, for the chance line; None
            draws no line.
        title: Figure title.
    """
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=120)
    for colour, (label, runs) in enumerate(curves.items()):
        for run, losses in enumerate(runs):
            ax.plot(range(1, len(losses) + 1), losses, color=f'C{colour}', linewidth=1, alpha=0.8,
                    label=label if run == 0 else None)
    if num_negatives is not None:
        ax.axhline(chance_loss(num_negatives), color='black', linestyle='--', linewidth=1,
                   label=f'chance, log(K+1) = log({num_negatives + 1}) = {chance_loss(num_negatives):.2f}')
    ax.set_xlabel('iteration')
    ax.set_ylabel('loss')
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    with atomic_write(path) as f:
        fig.savefig(f, format=osp.splitext(path)[1][1:] or 'png')
    plt.close(fig)
