"""Checks and fixes of a training config before the Runner is built: risky settings, the resumed seed."""
import logging
from typing import List

from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.runner import find_latest_checkpoint

from ..fileio import load_checkpoint_file


def warn_risky_settings(cfg: Config) -> List[str]:
    """Log a warning for each risky setting of ``cfg`` and return the warnings.

    ``default_hooks.checkpoint.max_keep_ckpts=1``: mmengine's CheckpointHook
    deletes the oldest kept checkpoint before it writes the new one, so with
    one kept, a kill during the save leaves none. (0 and negative values
    keep every checkpoint in mmengine: no risk.)

    Args:
        cfg: A training config, as tools/train.py builds the Runner from.

    Returns:
        The warning messages, empty when nothing is risky.
    """
    warnings = []
    checkpoint_hook = (cfg.get('default_hooks') or {}).get('checkpoint') or {}
    if checkpoint_hook.get('max_keep_ckpts', -1) == 1:
        warnings.append(
            'default_hooks.checkpoint.max_keep_ckpts=1: mmengine deletes the kept checkpoint before it writes '
            'the next one, so a kill or a full disk during that save leaves no checkpoint to resume from. '
            'Set max_keep_ckpts=2 or more (or -1 to keep all)')
    for message in warnings:
        print_log(message, logger='current', level=logging.WARNING)
    return warnings


def adopt_resumed_seed(cfg: Config) -> None:
    """On ``--resume``, set ``cfg.randomness.seed`` to the seed the checkpoint's run used.

    mmengine adopts the resumed run's seed only after it has built the data
    sampler with the new run's seed; the order of the samples and their
    augmentation seeds (:class:`~mmpcd.datasets.SeededAugmentationSampler`)
    would then differ from the interrupted run's. Reading the seed first
    makes a resumed run continue the same sequence. A config seed that
    differs is replaced with a warning, as mmengine does.

    Args:
        cfg: The training config; changed in place when it resumes from a
            checkpoint (``cfg.load_from``, or the latest one in ``cfg.work_dir``).
    """
    if not cfg.get('resume'):
        return
    path = cfg.get('load_from') or find_latest_checkpoint(cfg.work_dir)
    if path is None:
        return
    # mapped, not read: the Runner reads the whole checkpoint once more when it resumes
    seed = load_checkpoint_file(path, 'checkpoint to resume from', mmap=True).get('meta', {}).get('seed')
    configured = (cfg.get('randomness') or {}).get('seed')
    if seed is None or seed == configured:
        return
    if configured is not None:
        print_log(f'randomness.seed={configured} is replaced by the seed of the resumed run ({seed}, from {path})',
                  logger='current', level=logging.WARNING)
    cfg.randomness = dict(cfg.get('randomness') or {}, seed=seed)
