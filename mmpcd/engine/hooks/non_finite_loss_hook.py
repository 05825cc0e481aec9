import math
import os.path as osp
import statistics
from collections import deque
from typing import Deque, Dict, Optional

import torch
from mmengine.dist import all_reduce, get_world_size
from mmengine.hooks import Hook

from mmselfsup.registry import HOOKS


class NonFiniteLossError(FloatingPointError):
    """The training loss became nan or infinite."""


class ExplodingLossError(FloatingPointError):
    """The training loss, still finite, jumped to many times its recent level: the run diverged."""


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Stop the run at the first iteration whose loss is nan, infinite or exploding, naming it, the likely cause and
    the last good checkpoint.

    A nan loss otherwise trains on: the weights turn nan, the run exits 0 and
    its checkpoints hold a nan student. A loss that explodes but stays
    finite is worse: the weights it leaves are finite but wrecked (issue 33:
    |w| up to 1.2e34), so the checkpoints after it pass every check for nan
    and export as if trained. The check runs right after the step, before any
    other hook, so no checkpoint is written after such an iteration: every
    checkpoint of a run with this hook was saved before its first
    non-finite or exploding loss, and the error names the last one as the
    checkpoint to resume from. The outputs checked are the train step's
    whose key has ``loss`` in it (any non-finite one stops the run); the
    explosion check is on the total, ``loss``: it explodes when its
    magnitude exceeds ``explosion_ratio`` times the median magnitude of the
    last ``window`` iterations of this run (it is not checked at the first
    iteration of a run or of a resume, nor against a median of 0). With
    several processes, all stop together when one sees either.
    ``tools/train.py`` adds this hook to every run
    (:func:`mmpcd.apis.build_config`).

    Args:
        explosion_ratio: How many times its recent median the loss may be;
            None: no explosion check (nan and inf are still stopped).
        window: How many recent iterations the median is taken over.
    """

    priority = 'VERY_HIGH'

    def __init__(self, explosion_ratio: Optional[float] = 100.0, window: int = 100) -> None:
        if explosion_ratio is not None and not explosion_ratio > 1:
            raise ValueError(
                f'NonFiniteLossHook: explosion_ratio must be a number > 1 (or None), got {explosion_ratio}')
        if window < 1:
            raise ValueError(f'NonFiniteLossHook: window must be a positive number of iterations, got {window}')
        self.explosion_ratio = explosion_ratio
        self.finite_iters = 0
        self.recent: Deque[float] = deque(maxlen=window)  # |loss| of the last iterations
        self.last_saved: Optional[str] = None  # the last checkpoint of this run (or the one it resumed from)

    def before_train(self, runner) -> None:
        self.finite_iters = 0
        self.recent.clear()
        # resumed: the checkpoint it resumed from (load_from; mmengine's own auto-resume: the last one saved)
        self.last_saved = (runner.cfg.get('load_from') or runner.message_hub.get_info('last_ckpt')) if runner.iter \
            else None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        self.last_saved = runner.message_hub.get_info('last_ckpt')  # where CheckpointHook saves this one

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs: Optional[Dict] = None) -> None:
        values = {
            key: float(torch.as_tensor(value).detach())
            for key, value in (outputs or {}).items() if 'loss' in key
        }
        bad = {key: str(value) for key, value in values.items() if not math.isfinite(value)}
        exploded = {} if bad else self._explosion(values.get('loss'))
        if get_world_size() > 1:  # every process stops, or none
            flags = torch.tensor([float(bool(bad)), float(bool(exploded))])
            all_reduce(flags)
            if flags[0].item() and not bad:
                bad = {'loss': 'non-finite in another process'}
            elif flags[1].item() and not bad and not exploded:
                exploded = {'loss': 'exploded in another process'}
        if bad:
            raise NonFiniteLossError(self.message(runner, bad))
        if exploded:
            raise ExplodingLossError(self.message(runner, exploded, exploding=True))
        self.finite_iters += 1
        if 'loss' in values:
            self.recent.append(abs(values['loss']))

    def _explosion(self, loss: Optional[float]) -> Dict[str, str]:
        """``{'loss': description}`` if ``loss`` exploded against the recent median, else ``{}``."""
        if loss is None or self.explosion_ratio is None or not self.recent:
            return {}
        level = statistics.median(self.recent)
        if level <= 0 or abs(loss) <= self.explosion_ratio * level:
            return {}
        return {
            'loss': f'{loss:.4g}, {abs(loss) / level:.3g} times the median {level:.4g} of the last '
            f'{len(self.recent)} iterations (more than explosion_ratio={self.explosion_ratio:g})'
        }

    def message(self, runner, bad: Dict[str, str], exploding: bool = False) -> str:
        """The error for the non-finite (or, ``exploding``, exploded) outputs ``bad`` of the current iteration."""
        values = ', '.join(f'{key}={value}' for key, value in bad.items())
        where = f'iteration {runner.iter + 1} (epoch {runner.epoch + 1})'
        diverged = ('the training diverged; lower the learning rate (optim_wrapper.optimizer.lr), lengthen the '
                    'warm-up, or clip gradients (optim_wrapper.clip_grad=dict(max_norm=...))')
        if exploding:
            what = (f'the training loss exploded at {where}: {values}. The run is stopped: this step has changed the '
                    f'weights already, and no checkpoint of them was written. After {self.finite_iters} finite '
                    f'iterations of this run, {diverged}. If such a jump is normal for this loss, raise the bound: add '
                    "dict(type='NonFiniteLossHook', explosion_ratio=...) to custom_hooks (None: no bound)")
        elif self.finite_iters == 0:
            what = (f'the training loss is not finite at {where}: {values}. The run is stopped; no checkpoint of this '
                    'iteration was written. It became non-finite from the first iteration of this run, so before any '
                    'update: likely a temperature that is 0 or tiny (model.head.temperature and the like), '
                    'non-finite weights loaded (the teacher, load_from or the resumed checkpoint) or non-finite input '
                    'images')
        else:
            what = (f'the training loss is not finite at {where}: {values}. The run is stopped; no checkpoint of this '
                    f'iteration was written. It became non-finite after {self.finite_iters} finite iterations of this '
                    f'run: {diverged}')
        return f'{what}. {self.last_good_checkpoint()}'

    def last_good_checkpoint(self) -> str:
        """Which checkpoint to resume from: the last one saved (this hook stops the run before any later one)."""
        path = self.last_saved
        bound = ('' if self.explosion_ratio is None else
                 f' nor any loss above {self.explosion_ratio:g} times its recent median')
        if path and osp.isfile(path):
            return (f'The last good checkpoint is {path}: the last one saved (or resumed from), before this loss; '
                    f'no checkpoint is written after a non-finite loss{bound}, as the run stops at the first. Resume '
                    f'from it once the cause is fixed (--resume {path})')
        gone = f' (the last one saved, {path}, is gone)' if path else ''
        return f'No checkpoint of this run is left to resume from{gone}: start again once the cause is fixed'
