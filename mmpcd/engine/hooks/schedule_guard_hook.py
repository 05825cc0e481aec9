import logging
from typing import Optional

from mmengine.hooks import Hook
from mmengine.logging import print_log

from mmselfsup.registry import HOOKS


class WorldSizeMismatchError(RuntimeError):
    """A run resumed with another number of processes than the run it resumes."""


@HOOKS.register_module()
class WorldSizeHook(Hook):
    """Record the number of processes in every checkpoint; refuse to resume one with another number.

    The resumed schedulers count in the interrupted run's iterations: an
    epoch of 2 processes is half as many iterations as one of 1, so resumed
    with 1 process the learning rate would follow the old counts and decay
    twice too early, without a word. The checkpoint's ``meta.world_size``
    is compared with this run's before the first step. ``tools/train.py``
    adds this hook to every run (:func:`mmpcd.apis.build_config`).
    """

    priority = 'VERY_HIGH'

    def __init__(self) -> None:
        self.loaded_world_size: Optional[int] = None
        self.loaded = False

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint.setdefault('meta', {})['world_size'] = runner.world_size

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self.loaded = True
        self.loaded_world_size = checkpoint.get('meta', {}).get('world_size')

    def before_train(self, runner) -> None:
        if not self.loaded or runner.iter == 0:  # nothing loaded, or load_from: weights only, a new schedule
            return
        if self.loaded_world_size is None:
            print_log(
                f'the resumed checkpoint does not record how many processes wrote it (written before mmpcd recorded '
                f'it): make sure it was {runner.world_size}, as in this run; otherwise the learning-rate schedule '
                'continues in the other run\'s iterations', logger='current', level=logging.WARNING)
        elif self.loaded_world_size != runner.world_size:
            raise WorldSizeMismatchError(
                f'--resume: the checkpoint was written by a run of {self.loaded_world_size} processes, and this run '
                f'has {runner.world_size}. Its learning-rate schedule and momentum schedules count iterations of '
                f'{self.loaded_world_size} processes (an epoch is {self.loaded_world_size}/{runner.world_size} times '
                f'as many iterations here), so they would end at the wrong step. Resume with '
                f'{self.loaded_world_size} processes (tools/dist_train.sh CONFIG {self.loaded_world_size} --resume), '
                'or start a new run from its weights (--cfg-options load_from=CHECKPOINT, without --resume)')
