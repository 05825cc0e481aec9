import math
from typing import Dict, Optional

import torch
from mmengine.dist import all_reduce, get_world_size
from mmengine.hooks import Hook

from mmselfsup.registry import HOOKS


class NonFiniteLossError(FloatingPointError):
    """The training loss became nan or infinite."""


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Stop the run at the first iteration whose loss is nan or infinite, naming it and the likely cause.

    A nan loss otherwise trains on: the weights turn nan, the run exits 0 and
    its checkpoints hold a nan student. The check runs right after the step,
    before any other hook (no checkpoint of the bad step is written), on the
    train step's outputs whose key has ``loss`` in it; with several
    processes, all stop together when one sees it. ``tools/train.py`` adds
    this hook to every run (:func:`mmpcd.apis.build_config`).
    """

    priority = 'VERY_HIGH'

    def __init__(self) -> None:
        self.finite_iters = 0

    def before_train(self, runner) -> None:
        self.finite_iters = 0

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs: Optional[Dict] = None) -> None:
        values = {
            key: float(torch.as_tensor(value).detach())
            for key, value in (outputs or {}).items() if 'loss' in key
        }
        bad = {key: str(value) for key, value in values.items() if not math.isfinite(value)}
        if get_world_size() > 1:  # every process stops, or none
            flag = torch.tensor([float(bool(bad))])
            all_reduce(flag)
            if flag.item() and not bad:
                bad = {'loss': 'non-finite in another process'}
        if bad:
            raise NonFiniteLossError(self.message(runner, bad))
        self.finite_iters += 1

    def message(self, runner, bad: Dict[str, str]) -> str:
        """The error for the non-finite outputs ``bad`` of the current iteration."""
        values = ', '.join(f'{key}={value}' for key, value in bad.items())
        where = f'iteration {runner.iter + 1} (epoch {runner.epoch + 1})'
        if self.finite_iters == 0:
            cause = ('from the first iteration of this run, so before any update: likely a temperature that is 0 or '
                     'tiny (model.head.temperature and the like), non-finite weights loaded (the teacher, load_from '
                     'or the resumed checkpoint) or non-finite input images')
        else:
            cause = (f'after {self.finite_iters} finite iterations of this run: the training diverged; lower the '
                     'learning rate (optim_wrapper.optimizer.lr), lengthen the warm-up, or clip gradients '
                     '(optim_wrapper.clip_grad=dict(max_norm=...))')
        return (f'the training loss is not finite at {where}: {values}. The run is stopped; no checkpoint of this '
                f'iteration was written. It became non-finite {cause}; resume from the last checkpoint once fixed')
