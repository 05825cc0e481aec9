"""The scores of :class:`~mmpcd.engine.OnlineEvalHook` against epoch, one panel a score, one line a run."""
import json
import os.path as osp
from typing import Dict, Sequence

from .figure import plt, save

#: The hook's scores and their axis labels.
SCORES = {'knn_top1': 'k-NN top-1 (%)', 'dense_knn_miou': 'dense k-NN mIoU (%)'}


def read_online_eval(work_dir: str) -> Dict[int, Dict[str, float]]:
    """``work_dir/online_eval.json`` as ``{epoch: {score: value}}``, in epoch order."""
    with open(osp.join(work_dir, 'online_eval.json')) as f:
        return {int(epoch): values for epoch, values in sorted(json.load(f).items(), key=lambda item: int(item[0]))}


def plot_online_eval(runs: Dict[str, Dict[int, Dict[str, float]]], path: str, title: str = 'online evaluation',
                     scores: Sequence[str] = ()) -> None:
    """Draw each score against epoch.

    Args:
        runs: ``{label: {epoch: {score: value}}}`` (:func:`read_online_eval` of each run).
        path: Output PNG (or another format of matplotlib, by its extension), written all at once.
        title: Figure title.
        scores: The scores to draw; by default those of :data:`SCORES` that some run has.

    Raises:
        ValueError: no run has any of the scores.
    """
    present = {score for results in runs.values() for values in results.values() for score in values}
    scores = list(scores) or [score for score in SCORES if score in present]
    if not scores:
        raise ValueError(f'no run has any of the scores {list(SCORES)}')
    fig, axes = plt.subplots(1, len(scores), figsize=(4.5 * len(scores), 3.4), dpi=120, squeeze=False)
    for ax, score in zip(axes[0], scores):
        for label, results in runs.items():
            epochs = [epoch for epoch, values in results.items() if score in values]
            ax.plot(epochs, [results[epoch][score] for epoch in epochs], marker='o', label=label)
        ax.set_xlabel('epoch')
        ax.set_ylabel(SCORES.get(score, score))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    save(fig, path)
