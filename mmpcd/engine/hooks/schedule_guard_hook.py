import logging
from typing import Dict, Optional

from mmengine.hooks import Hook
from mmengine.logging import print_log

from mmselfsup.registry import HOOKS

#: What each checkpoint records of the run that wrote it (``meta``), and where a config sets it.
RECORDED = {'world_size': 'the number of processes', 'batch_size': 'train_dataloader.batch_size'}


class WorldSizeMismatchError(RuntimeError):
    """A run resumed with another number of processes than the run it resumes."""


class BatchSizeMismatchError(RuntimeError):
    """A run resumed with another batch size per process than the run it resumes."""


@HOOKS.register_module()
class ScheduleGuardHook(Hook):
    """Record in every checkpoint the number of processes and the batch size; refuse to resume with others.

    Both decide how many iterations an epoch has. The resumed schedulers
    count in the interrupted run's iterations: mmengine converts the
    epoch-based schedules (warm-up end, cosine length) to iterations once,
    with that run's epoch length, and restores them from the checkpoint as
    they were, with the optimizer's learning rate as ``auto_scale_lr``
    scaled it for that run's total batch. Resumed with 1 process after 2, or
    at batch 4 after batch 8, an epoch has twice as many iterations and the
    schedule would end after half of the training, without a word. So the
    checkpoint's ``meta.world_size`` and ``meta.batch_size`` are compared
    with this run's before the first step, and another value is refused,
    naming both ways out: resume with the checkpoint's value, or start a
    new run (a new schedule) from its weights. ``tools/train.py`` adds this hook to every run
    (:func:`mmpcd.apis.build_config`).
    """

    priority = 'VERY_HIGH'

    def __init__(self) -> None:
        self.loaded: Optional[Dict[str, Optional[int]]] = None  # what the loaded checkpoint records

    @staticmethod
    def recorded(runner) -> Dict[str, Optional[int]]:
        """This run's values of :data:`RECORDED` (the batch size None without one, e.g. with a batch sampler)."""
        return dict(world_size=runner.world_size, batch_size=getattr(runner.train_dataloader, 'batch_size', None))

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint.setdefault('meta', {}).update(self.recorded(runner))

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        meta = checkpoint.get('meta', {})
        self.loaded = {key: meta.get(key) for key in RECORDED}

    def before_train(self, runner) -> None:
        if self.loaded is None or runner.iter == 0:  # nothing loaded, or load_from: weights only, a new schedule
            return
        now = self.recorded(runner)
        unknown = [RECORDED[key] for key, value in self.loaded.items() if value is None and now[key] is not None]
        if unknown:
            print_log(
                f'the resumed checkpoint does not record {" or ".join(unknown)} of the run that wrote it (written '
                f'before mmpcd recorded it): make sure it was {now["world_size"]} processes and '
                f'train_dataloader.batch_size={now["batch_size"]}, as in this run; otherwise the learning-rate '
                'schedule continues in the other run\'s iterations', logger='current', level=logging.WARNING)
        then = self.loaded
        if then['world_size'] is not None and then['world_size'] != now['world_size']:
            raise WorldSizeMismatchError(
                f'--resume: the checkpoint was written by a run of {then["world_size"]} processes, and this run '
                f'has {now["world_size"]}. Its learning-rate schedule and momentum schedules count iterations of '
                f'{then["world_size"]} processes (an epoch is {then["world_size"]}/{now["world_size"]} times '
                f'as many iterations here), so they would end at the wrong step. Resume with '
                f'{then["world_size"]} processes (tools/dist_train.sh CONFIG {then["world_size"]} --resume), '
                'or start a new run from its weights (--cfg-options load_from=CHECKPOINT, without --resume)')
        if then['batch_size'] is not None and now['batch_size'] is not None and then['batch_size'] != now['batch_size']:
            scaled = (' and auto_scale_lr scaled its learning rate for that run\'s total batch,' if
                      (runner.auto_scale_lr or {}).get('enable') else '')
            raise BatchSizeMismatchError(
                f'--resume: the checkpoint was written by a run of train_dataloader.batch_size={then["batch_size"]} '
                f'(a process), and this run has {now["batch_size"]}. Its learning-rate and momentum schedules were '
                f'converted to that run\'s iterations (an epoch is about {then["batch_size"]}/{now["batch_size"]} '
                f'times as many iterations here){scaled} and the checkpoint restores them as they were, so the '
                'schedule would end at the wrong step. Resume with the same batch size (--cfg-options '
                f'train_dataloader.batch_size={then["batch_size"]} --resume), or start a new run, with a new '
                'schedule, from its weights (--cfg-options load_from=CHECKPOINT, without --resume)')
