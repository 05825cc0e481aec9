"""Training with mmengine's Runner: what ``tools/train.py`` (and ``tools/dist_train.sh``) run.

    from mmpcd.apis import train
    train('configs/pcd_r18_demo.py', work_dir='work_dirs/demo', amp=False)
"""
import argparse
import contextlib
import os
import os.path as osp
from typing import Optional, Sequence

import torch
import torch.distributed as dist
from mmengine.config import Config, DictAction
from mmengine.runner import Runner

from ..engine import (adopt_resumed_seed, check_arguments, check_cfg_options, check_collate, check_epoch_length,
                      check_ranges, check_work_dir, warn_risky_settings, work_dir_lock)

# Hooks of every run: a non-finite or exploding loss stops it; a checkpoint records its number of processes and batch
# size, checked on resume.
# Named with their scope: mmdet and mmseg configs (tools/benchmarks/run_downstream.py) build hooks in their own.
GUARD_HOOKS = ('mmselfsup.NonFiniteLossHook', 'mmselfsup.ScheduleGuardHook')
# The environment variable of each launcher that holds the global rank of the process.
RANK_VARIABLES = dict(pytorch='RANK', slurm='SLURM_PROCID', mpi='OMPI_COMM_WORLD_RANK')


def parse_train_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """The command line of ``tools/train.py``: the keyword arguments of :func:`train`.

    ``--local_rank`` (of ``torch.distributed.launch``) is put in the
    ``LOCAL_RANK`` environment variable, unless that is set, and not returned.
    """
    parser = argparse.ArgumentParser(description='Train a model (mmpcd / mmselfsup)')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from the given checkpoint, or from the latest one in the work dir')
    parser.add_argument('--amp', action='store_true', help='enable automatic mixed precision training (GPU)')
    parser.add_argument('--sync-bn', action='store_true',
                        help='convert the BNs of the model to SyncBN when distributed (GPU; sets cfg.sync_bn)')
    parser.add_argument('--seed', type=int, default=None, help='random seed')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings in the config, key=value (e.g. model.head.queue_len=4096)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    del args.local_rank
    return args


def build_config(config: str, work_dir: Optional[str] = None, resume: Optional[str] = None, amp: bool = False,
                 sync_bn: bool = False, seed: Optional[int] = None, cfg_options: Optional[dict] = None,
                 launcher: str = 'none') -> Config:
    """The config with the command line's overrides applied, and the guard hooks of every run (``GUARD_HOOKS``).

    Args:
        config: The config file.
        work_dir: Where logs and checkpoints go; default the config's
            ``work_dir``, else ``./work_dirs/<config name>``.
        resume: ``'auto'``: resume from the latest checkpoint in the work
            dir; a path: from that checkpoint; None: start afresh.
        amp: Train with ``AmpOptimWrapper`` (dynamic loss scale).
        sync_bn: Convert the BNs to SyncBN when distributed (``cfg.sync_bn``).
        seed: Overrides ``randomness``.
        cfg_options: ``key=value`` overrides, merged first.
        launcher: ``none``, ``pytorch``, ``slurm`` or ``mpi``. Without a GPU a
            distributed job uses gloo and DDP without device ids.

    Raises:
        ConfigError: A ``cfg_options`` key that nothing reads.
    """
    cfg = Config.fromfile(config)
    if cfg_options is not None:
        cfg.merge_from_dict(cfg_options)
        check_cfg_options(cfg, cfg_options)
    hooks = cfg.get('custom_hooks') or []
    present = {str(hook.get('type')).split('.')[-1] for hook in hooks}
    cfg.custom_hooks = hooks + [dict(type=name) for name in GUARD_HOOKS if name.split('.')[-1] not in present]
    cfg.launcher = launcher
    cfg.work_dir = work_dir or cfg.get('work_dir') or osp.join('./work_dirs', osp.splitext(osp.basename(config))[0])
    if amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if sync_bn:
        cfg.sync_bn = 'torch'
    if resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif resume is not None:
        cfg.resume, cfg.load_from = True, resume
    if seed is not None:
        cfg.randomness = dict(seed=seed)
    if not torch.cuda.is_available() and launcher != 'none':
        # NCCL needs GPUs: gloo runs the same job on CPUs, and DDP takes no device ids there.
        cfg.env_cfg.dist_cfg.backend = 'gloo'
        wrapper = cfg.get('model_wrapper_cfg') or dict(type='MMDistributedDataParallel', broadcast_buffers=False)
        cfg.model_wrapper_cfg = dict(wrapper, device_ids=None)
    return cfg


def build_runner(config: str, **overrides) -> Runner:
    """The Runner of the job (:func:`runner_from_config` of :func:`build_config`).

    Args:
        config: The config file.
        **overrides: The keyword arguments of :func:`build_config`.
    """
    return runner_from_config(build_config(config, **overrides))


def runner_from_config(cfg: Config) -> Runner:
    """The Runner of ``cfg`` (from :func:`build_config`), after the checks that run before it.

    The config's arguments, ranges and collate functions (:func:`~mmpcd.engine.check_arguments`,
    :func:`~mmpcd.engine.check_ranges`, :func:`~mmpcd.engine.check_collate`), the work dir (nothing to resume, an
    earlier run's checkpoints), risky settings; the resumed run's seed is
    adopted. On CPUs the gloo process group is started here: mmengine's
    ``init_dist`` calls ``torch.cuda.set_device``, which fails without a GPU;
    the Runner skips it when a process group already exists.
    """
    check_arguments(cfg)
    check_ranges(cfg)
    check_collate(cfg)
    check_work_dir(cfg)
    warn_risky_settings(cfg)
    adopt_resumed_seed(cfg)
    if cfg.launcher == 'pytorch' and not torch.cuda.is_available() and not dist.is_initialized():
        dist.init_process_group(backend='gloo')
    return Runner.from_cfg(cfg)


def train(config: str, **overrides) -> None:
    """Build the Runner (:func:`build_runner`) and train, holding the work dir's lock (one run at a time in it).

    The process of global rank 0 takes the lock (its rank read from the
    launcher's environment: the lock is taken before the Runner, which
    writes into the work dir as it is built) and removes it at the end.

    Args:
        config: The config file.
        **overrides: The keyword arguments of :func:`build_config`.

    Raises:
        WorkDirLockedError: Another run holds the work dir.
        ConfigError: The training set is smaller than one batch
            (:func:`~mmpcd.engine.check_epoch_length`).
    """
    cfg = build_config(config, **overrides)
    rank = int(os.environ.get(RANK_VARIABLES.get(cfg.launcher, ''), 0))
    with work_dir_lock(cfg.work_dir) if rank == 0 else contextlib.nullcontext():
        runner = runner_from_config(cfg)
        check_epoch_length(runner)
        runner.train()
