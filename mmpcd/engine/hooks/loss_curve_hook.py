import json
import os.path as osp
from typing import Dict, List, Optional

from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from mmselfsup.registry import HOOKS
from ...fileio import atomic_write
from ...visualization import chance_loss, plot_loss_curves


@HOOKS.register_module()
class LossCurveHook(Hook):
    """Record the training loss of every iteration; at the end, compare it with chance and draw it.

    After training, writes ``loss_curve.json`` (``losses``: per iteration;
    ``epoch_means``; ``chance``) and ``loss_curve.png`` into the work dir, and
    logs the first and the last epoch's mean loss beside the chance level
    ``log(K + 1)`` of a model whose ``head.queue_len`` is K (PCD). The
    values are those of this process (rank 0 writes); on resume the curve
    starts at the resumed iteration.

    Args:
        key: The loss to record, a key of the train step's outputs.
    """

    priority = 'LOW'

    def __init__(self, key: str = 'loss') -> None:
        self.key = key
        self.losses: List[float] = []
        self.epochs: List[int] = []

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs: Optional[Dict] = None) -> None:
        self.losses.append(outputs[self.key].item())
        self.epochs.append(runner.epoch)

    def after_train(self, runner) -> None:
        if not self.losses or not is_main_process():
            return
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        num_negatives = getattr(getattr(model, 'head', None), 'queue_len', None)
        epoch_means = {}
        for epoch in dict.fromkeys(self.epochs):
            values = [loss for loss, e in zip(self.losses, self.epochs) if e == epoch]
            epoch_means[epoch + 1] = sum(values) / len(values)
        chance = chance_loss(num_negatives) if num_negatives else None
        with atomic_write(osp.join(runner.work_dir, 'loss_curve.json'), 'w') as f:
            json.dump(dict(losses=self.losses, epoch_means=epoch_means, chance=chance, num_negatives=num_negatives), f)
        plot_loss_curves({self.key: [self.losses]}, osp.join(runner.work_dir, 'loss_curve.png'), num_negatives,
                         title=osp.basename(runner.work_dir))
        (first, first_mean), (last, last_mean) = next(iter(epoch_means.items())), list(epoch_means.items())[-1]
        summary = f'mean {self.key}: epoch {first} {first_mean:.3f}, epoch {last} {last_mean:.3f}'
        if chance is not None:
            summary += (f'; chance log(K+1) = log({num_negatives + 1}) = {chance:.3f}, '
                        f'so the last epoch is {chance - last_mean:.2f} nat below chance')
        print_log(f'{summary}. Curve: {osp.join(runner.work_dir, "loss_curve.png")}', logger='current')
