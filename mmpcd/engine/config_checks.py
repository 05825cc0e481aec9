"""Warnings about config settings that train but put the run at risk."""
import logging
from typing import List

from mmengine.config import Config
from mmengine.logging import print_log


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
