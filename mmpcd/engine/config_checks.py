"""Checks and fixes of a training config before the Runner is built: overrides and arguments that nothing reads,
ranges, risky settings, the resumed seed."""
import difflib
import glob
import inspect
import logging
import math
import os.path as osp
from typing import Any, Dict, FrozenSet, Iterator, List, Optional, Sequence, Tuple

from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.hooks import CheckpointHook
from mmengine.logging import print_log
from mmengine.registry import Registry
from mmengine.runner import EpochBasedTrainLoop, IterBasedTrainLoop, LogProcessor, Runner
from mmengine.utils.dl_utils import set_multi_processing
from torch.utils.data import DataLoader

from mmselfsup import registry as registries
from ..datasets import PackImageForDeviceAugment
from ..fileio import CheckpointLoadError, load_checkpoint_file


class ConfigError(ValueError):
    """A config key or value that would be ignored, or would fail or mislead only after training started."""


# The top-level keys that are read once the config is loaded and merged: by mmengine's Runner (its arguments, and the
# keys Runner.__init__ reads from the config itself). custom_imports is not one: Config.fromfile has used it.
RUNNER_KEYS = frozenset(inspect.signature(Runner.__init__).parameters) - {'self', 'cfg'} | {
    'activation_checkpointing', 'compile', 'efficient_conv_bn_eval', 'find_unused_parameters', 'model_wrapper_cfg',
    'resource_limit', 'sync_bn'
}
# The registry a typed dict is built from, by the key it is found under (below it, the nearest such key's).
REGISTRY_OF_KEY = {
    'model': registries.MODELS,
    'default_hooks': registries.HOOKS,
    'custom_hooks': registries.HOOKS,
    'train_cfg': registries.LOOPS,
    'param_scheduler': registries.PARAM_SCHEDULERS,
    'optim_wrapper': registries.OPTIM_WRAPPERS,
    'optimizer': registries.OPTIMIZERS,
    'dataset': registries.DATASETS,
    'sampler': registries.DATA_SAMPLERS,
    'pipeline': registries.TRANSFORMS,
    'visualizer': registries.VISUALIZERS,
    'vis_backends': registries.VISBACKENDS,
    'log_processor': registries.LOG_PROCESSORS,
}
# Hooks whose **kwargs go to another callable, and the keywords it takes from them.
FORWARDED_KWARGS = {
    CheckpointHook: set(inspect.signature(Runner.save_checkpoint).parameters) -
    {'self', 'out_dir', 'filename', 'meta'} - set(inspect.signature(CheckpointHook).parameters)
}
# Keys the builders take out of a typed dict before its class is called.
POPPED_BY_BUILDER = {
    registries.HOOKS: {'priority'},
    registries.PARAM_SCHEDULERS: {'convert_to_iter_based'},
    registries.OPTIM_WRAPPERS: {'constructor', 'paramwise_cfg'},
}


def _parameters(function: Any, *left_out: str) -> FrozenSet[str]:
    """The names of the parameters of ``function``, but ``self`` and ``left_out``."""
    return frozenset(inspect.signature(function).parameters) - {'self', *left_out}


# The keys the Runner reads of a dataloader dict: DataLoader's arguments and those Runner.build_dataloader takes out.
DATALOADER_KEYS = _parameters(DataLoader) | {
    'dataset', 'sampler', 'batch_sampler', 'collate_fn', 'worker_init_fn', 'num_batch_per_epoch', 'persistent_workers'
}
# The dicts the Runner reads without a ``type`` (log_processor: when it has none), by their key: the keys read of
# each, and what reads them. auto_scale_lr and env_cfg are read key by key (Runner.scale_lr, Runner.setup_env);
# env_cfg.dist_cfg goes to torch.distributed's init_process_group through **kwargs: not checked.
UNTYPED_DICTS: Dict[str, Tuple[FrozenSet[str], str]] = {
    'auto_scale_lr': (frozenset({'enable', 'base_batch_size'}), "mmengine's Runner.scale_lr"),
    'env_cfg': (frozenset({'cudnn_benchmark', 'mp_cfg', 'dist_cfg', 'resource_limit'}), "mmengine's Runner.setup_env"),
    'env_cfg.mp_cfg': (_parameters(set_multi_processing, 'distributed'), "mmengine's set_multi_processing"),
    'randomness': (_parameters(Runner.set_randomness), "mmengine's Runner.set_randomness"),
    'log_processor': (_parameters(LogProcessor), "mmengine's LogProcessor"),
    **{
        f'{split}_dataloader': (DATALOADER_KEYS, "mmengine's Runner.build_dataloader (and torch's DataLoader)")
        for split in ('train', 'val', 'test')
    },
}


def _key_values(node: Any, path: str = '') -> Iterator[Tuple[str, Any]]:
    """Every key of ``node`` with its value, the key as a dotted path (list items by index) as ``--cfg-options``
    names it."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, (list, tuple)) else ()
    for key, value in items:
        child = f'{path}.{key}' if path else str(key)
        yield child, value
        yield from _key_values(value, child)


def _did_you_mean(name: str, candidates: Sequence[str]) -> str:
    """``'; did you mean X?'`` for the closest candidates of ``name``, or ``''``."""
    close = difflib.get_close_matches(name, candidates, n=3, cutoff=0.6)
    return f'; did you mean {" or ".join(close)}?' if close else ''


def check_cfg_options(cfg: Config, cfg_options: dict) -> None:
    """Refuse a ``--cfg-options`` key that nothing reads: one whose top-level key the Runner does not read.

    ``optimizer.lr=0.5`` makes a new top-level ``optimizer`` that no code
    reads (the optimizer is ``optim_wrapper.optimizer``), and a variable of
    the config file (``max_epochs``) was used when the file was read: both
    would be ignored silently. Arguments that a typed dict's class does not
    take (``model.head.queue_length``) are :func:`check_arguments`'s.

    Args:
        cfg: The config the options were merged into.
        cfg_options: The ``key=value`` overrides, as ``DictAction`` parses them.

    Raises:
        ConfigError: Naming every such key and, where one is close, the key
            that was meant.
    """
    paths = [path for path, _ in _key_values(cfg.to_dict())]
    problems = []
    for key in cfg_options:
        top = key.split('.')[0]
        if top in RUNNER_KEYS:
            continue
        meant = [path for path in paths if path.endswith(f'.{key}') and path.split('.')[0] in RUNNER_KEYS]
        hint = f'; did you mean {" or ".join(meant)}?' if meant else _did_you_mean(top, sorted(RUNNER_KEYS))
        problems.append(f'{key}: nothing reads the top-level key {top!r} (mmengine\'s Runner reads only its own keys, '
                        f'and a variable of the config file was used up when the file was read){hint}')
    if problems:
        raise ConfigError('--cfg-options sets keys that nothing reads; the run would ignore them:\n  ' +
                          '\n  '.join(problems))


def _registry_below(key: str, registry: Optional[Registry]) -> Optional[Registry]:
    """The registry of the typed dicts under ``key``: its own, else the one above it; none under a ``*_cfg`` key
    other than ``train_cfg`` (``norm_cfg``, ``init_cfg``, ...: their own builders take keys out first)."""
    if key.endswith('_cfg') and key != 'train_cfg':
        return None
    return REGISTRY_OF_KEY.get(key, registry)


def _typed_dicts(node: Any, registry: Optional[Registry] = None,
                 path: str = '') -> Iterator[Tuple[str, dict, Registry]]:
    """Every dict of ``node`` that a registry builds (it has a ``type``, or it is ``train_cfg``), with its path."""
    if isinstance(node, dict):
        if registry is not None and ('type' in node or path == 'train_cfg'):
            yield path, node, registry
        items = node.items()
    elif isinstance(node, (list, tuple)):
        items = enumerate(node)
    else:
        return
    for key, value in items:
        yield from _typed_dicts(value, _registry_below(str(key), registry), f'{path}.{key}' if path else str(key))


def _built_class(node: dict, registry: Registry, scope: Optional[str]) -> Optional[Any]:
    """What ``registry`` builds ``node`` with (train_cfg without a type: mmengine's epoch or iteration loop), or
    None if it is not found (the build then fails on its own, naming the type)."""
    if 'type' not in node:
        return EpochBasedTrainLoop if node.get('by_epoch', True) else IterBasedTrainLoop
    if not isinstance(node['type'], str):
        return node['type'] if callable(node['type']) else None
    with registry.switch_scope_and_registry(scope) as found_in:
        try:
            return found_in.get(node['type'])
        except (KeyError, ImportError):
            return None


def _unknown_arguments(path: str, node: dict, built: Any, registry: Registry) -> List[str]:
    """The problems of the keys of ``node`` that ``built`` does not take, one line each."""
    try:
        parameters = inspect.signature(built).parameters
    except (TypeError, ValueError):  # a builtin without a signature: nothing to check
        return []
    accepted = set(parameters) | POPPED_BY_BUILDER.get(registry, set()) | {'type', '_scope_', 'by_epoch'}
    forwarded = FORWARDED_KWARGS.get(built)
    if forwarded is not None:
        accepted |= forwarded
    elif any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return []  # it takes any keyword: nothing to tell
    name = getattr(built, '__name__', str(built))
    takes = f'{name} takes no argument {{!r}}' + (' (the keywords it passes on, to Runner.save_checkpoint, take none '
                                                  'other)' if forwarded is not None else '')
    return [
        f'{path}.{key}: {takes.format(key)}{_did_you_mean(key, sorted(accepted - {"type", "_scope_"}))}' for key in node
        if key not in accepted
    ]


def _unread_keys(cfg: dict) -> List[str]:
    """The problems of the keys of the Runner's untyped dicts (``UNTYPED_DICTS``) that it does not read."""
    problems = []
    for path, (known, reader) in UNTYPED_DICTS.items():
        node: Any = cfg
        for key in path.split('.'):
            node = node.get(key) if isinstance(node, dict) else None
        if not isinstance(node, dict) or 'type' in node:  # absent, or typed: check_arguments' typed dicts
            continue
        for key in node:
            if key not in known:
                meant = _did_you_mean(key, sorted(known)) or '; remove it'
                problems.append(f'{path}.{key}: {reader} reads no key {key!r} of {path} (it reads '
                                f'{", ".join(sorted(known))}), so it would be ignored{meant}')
    return problems


def check_arguments(cfg: Config) -> None:
    """Refuse an argument that the class built from a typed dict of ``cfg`` does not take, or a key of an untyped
    runner dict that the Runner does not read, before the Runner.

    Every dict with a ``type`` under the keys that mmengine builds (the
    model and its parts, hooks, the train loop, schedulers, the optimizer
    and its wrapper, datasets, samplers, transforms) is checked against its
    class's arguments. mmengine builds some of them only when training
    starts or later: ``CheckpointHook`` passes the keywords it does not know
    to ``Runner.save_checkpoint``, so ``default_hooks.checkpoint.interva=5``
    crashed at the first save, after a whole interval of training. Classes
    that take any keyword (``**kwargs``) are not checked. The dicts that the
    Runner reads key by key (``UNTYPED_DICTS``: ``auto_scale_lr``,
    ``env_cfg`` and its ``mp_cfg``, ``randomness``, ``log_processor``
    without a type, the dataloaders) are checked against the keys it reads:
    a misspelt ``auto_scale_lr.enable`` or ``env_cfg.cudnn_benchmark`` was
    ignored without a word.

    Raises:
        ConfigError: Naming every unknown argument or key by its path, the
            keys known there (for an untyped dict) and, where one is close,
            the one that was meant.
    """
    problems = []
    for path, node, registry in _typed_dicts(cfg.to_dict()):
        built = _built_class(node, registry, cfg.get('default_scope'))
        if built is not None:
            problems += _unknown_arguments(path, node, built, registry)
    problems += _unread_keys(cfg.to_dict())
    if problems:
        raise ConfigError('the config has arguments that nothing takes (a typo?); fix or remove them:\n  ' +
                          '\n  '.join(problems))


def _in_range(key: str, value: Any) -> Optional[str]:
    """What is wrong with ``value`` for a key named ``key`` (a temperature, ``queue_len``, a momentum), or None."""
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if key == 'queue_len':
        if not (number and isinstance(value, int) and value > 0):
            return 'the queue length must be a whole number > 0 (an int: 1e3 is a float, write 1000)'
    elif key.endswith(('temperature', 'temp')):
        if not (number and 0 < value < math.inf):
            return ('a temperature must be a finite number > 0: it divides the similarities, so 0 gives nan and a '
                    'negative one rewards the wrong pairs')
    elif key.endswith('momentum'):
        if not (number and 0 <= value <= 1):
            return 'a momentum must be a number in [0, 1]'
    return None


def check_ranges(cfg: Config) -> None:
    """Refuse a temperature, queue length or momentum out of its range anywhere in ``cfg``, before the model is built.

    Keys named ``*temperature`` / ``*temp`` must be finite and > 0,
    ``queue_len`` a positive int, ``*momentum`` in [0, 1]: a negative
    temperature trains silently towards the wrong pairs, 0 gives a nan loss,
    and a queue length of 0 or 1e3 fails deep inside the model.

    Raises:
        ConfigError: Naming every such key, its value and the range.
    """
    problems = []
    for path, value in _key_values(cfg.to_dict()):
        reason = _in_range(path.split('.')[-1], value)
        if reason is not None:
            problems.append(f'{path}={value!r}: {reason}')
    if problems:
        raise ConfigError('the config has values out of range:\n  ' + '\n  '.join(problems))


def _saved_iteration(path: str) -> Optional[int]:
    """The iteration at which the training checkpoint ``path`` was saved, or None if it cannot be read whole or is
    not one (a ``state_dict`` and ``meta.iter``, as mmengine's Runner saves them). Only mapped, not read."""
    try:
        checkpoint = load_checkpoint_file(path, 'checkpoint', mmap=True)
    except (OSError, CheckpointLoadError):
        return None
    meta = checkpoint.get('meta') if isinstance(checkpoint, dict) else None
    return meta.get('iter') if isinstance(meta, dict) and 'state_dict' in checkpoint else None


def resume_checkpoint(work_dir: str) -> Tuple[Optional[str], str]:
    """The checkpoint that ``--resume`` continues the run of ``work_dir`` from, and why it is not the one its
    ``last_checkpoint`` file names (``''`` when it is).

    mmengine's CheckpointHook rewrites ``last_checkpoint`` in place after
    each save: a kill at that moment leaves it empty or cut, and mmengine
    then resumes from ``''`` (``No such file or directory: ''``). When the
    file is missing, empty, or names a checkpoint that is missing or cannot
    be read whole, the newest complete training checkpoint among the work
    dir's ``*.pth`` is taken (the largest ``meta.iter``; the newest file of
    equal ones).

    Returns:
        ``(path, why)``: the checkpoint (None: the work dir has none) and,
        if it is not ``last_checkpoint``'s, what is wrong with that file.
    """
    record = osp.join(work_dir, 'last_checkpoint')
    named = None
    if osp.isfile(record):
        with open(record) as f:
            named = f.read().strip()
    if named and _saved_iteration(named) is not None:
        return named, ''
    why = (f'{record} does not exist' if named is None else f'{record} is empty'
           if not named else f'{record} names {named}, which is missing, cut short or not a training checkpoint')
    complete = []
    for path in glob.glob(osp.join(work_dir, '*.pth')):
        iteration = _saved_iteration(path)
        if iteration is not None:
            complete.append((iteration, osp.getmtime(path), path))
    return (max(complete)[2] if complete else None), why


def check_work_dir(cfg: Config) -> None:
    """Check the resume keys; find the checkpoint to resume from; warn when a fresh run goes into an earlier run's
    work dir.

    ``resume`` must be True or False: mmengine reads a path there as True
    and resumes from the work dir's latest checkpoint, not from that path.
    mmengine's auto-resume with no checkpoint in the work dir logs "Auto
    resumed from the latest checkpoint None" and trains from scratch. With
    a ``last_checkpoint`` that is empty (a kill while mmengine wrote it) or
    names a missing or incomplete file, it failed; the newest complete
    checkpoint is taken instead, and the log says so
    (:func:`resume_checkpoint`). The checkpoint found is set as
    ``cfg.load_from``: the Runner and :func:`adopt_resumed_seed` resume from
    it. A fresh run into a work dir with checkpoints would mix its
    checkpoints with the earlier run's (and ``last_checkpoint`` then points
    to either).

    Args:
        cfg: The training config, ``cfg.work_dir`` set; changed in place on
            an auto-resume (``resume`` without ``load_from``).

    Raises:
        ConfigError: ``resume`` is not a bool, or ``load_from`` not a path.
        FileNotFoundError: ``cfg.resume`` is set without a checkpoint
            (``load_from``), and the work dir has none to resume from.
    """
    resume, load_from = cfg.get('resume'), cfg.get('load_from')
    if resume is not None and not isinstance(resume, bool):
        meant = (f': it would resume from the latest checkpoint of the work dir, not from {resume}. To resume from '
                 f'it, set load_from={resume!r} and resume=True (tools/train.py: --resume {resume})' if isinstance(
                     resume, str) else '')
        raise ConfigError(f'resume={resume!r}: mmengine\'s Runner takes resume as True or False, and reads this as '
                          f'{bool(resume)}{meant}')
    if load_from is not None and not isinstance(load_from, str):
        raise ConfigError(f'load_from={load_from!r}: it must be the path of a checkpoint, or None')
    latest, why = resume_checkpoint(cfg.work_dir) if osp.isdir(cfg.work_dir) else (None, '')
    if resume and not load_from:
        if latest is None:
            raise FileNotFoundError(
                f'--resume: the work dir {cfg.work_dir} holds no checkpoint to resume from (no last_checkpoint file '
                'written by a run, and no complete checkpoint). Give the checkpoint (--resume PATH) or the work dir '
                'of the run to continue (--work-dir), or start afresh without --resume')
        if why:
            print_log(
                f'--resume: {why} (mmengine rewrites it in place after each save: a kill at that moment leaves it '
                f'empty or cut). Resuming from the newest complete checkpoint in the work dir instead: {latest} '
                f'(saved at iteration {_saved_iteration(latest)})', logger='current', level=logging.WARNING)
        cfg.load_from = latest
    if not resume and latest is not None:
        print_log(
            f'THIS FRESH RUN GOES INTO THE WORK DIR OF AN EARLIER RUN: {cfg.work_dir} holds its checkpoints (the '
            f'latest {latest}). This run starts from scratch and writes its own checkpoints beside them, replacing '
            'those of the same names and last_checkpoint. To continue that run, use --resume; to keep both, give '
            'this run another --work-dir', logger='current', level=logging.WARNING)


def check_epoch_length(runner: Runner) -> None:
    """Refuse a training set smaller than one batch with ``drop_last``: an epoch would have no iteration.

    mmengine says only "``epoch_length`` must be a positive integer" when it
    builds the schedulers. The train loop (and its dataloader) is built here,
    as ``runner.train()`` would build it first.

    Raises:
        ConfigError: Naming the set's size, the batch size and the fixes.
    """
    loader = runner.train_loop.dataloader
    if len(loader) > 0:
        return
    per_process = len(loader.sampler)
    raise ConfigError(
        f'the training set has {len(loader.dataset)} images ({per_process} per process), fewer than one batch '
        f'(train_dataloader.batch_size={loader.batch_size}, drop_last={loader.drop_last}): an epoch would have no '
        f'iteration. Add images, set train_dataloader.batch_size to {max(per_process, 1)} or less, or set '
        'train_dataloader.drop_last=False')


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
    path = cfg.get('load_from') or resume_checkpoint(cfg.work_dir)[0]
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


def check_collate(cfg: Config) -> None:
    """Refuse a data loader whose pipeline packs images at their own size (``PackImageForDeviceAugment``) and whose
    ``collate_fn`` is not ``pseudo_collate``, before the Runner.

    ``default_collate`` (mmselfsup's base configs set it) stacks the images and fails at the first batch of images of
    different sizes with torch's ``stack expects each tensor to be equal size``, naming neither the key nor the fix.
    mmengine's default (no ``collate_fn``) is ``pseudo_collate``.

    Raises:
        ConfigError: Naming the loader's ``collate_fn`` key, what it is and what it must be.
    """
    problems = []
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        node = cfg.get(loader)
        if not node or not any(
                isinstance(value, dict) and value.get('type') == PackImageForDeviceAugment.__name__
                for _, value in _key_values(node.get('dataset', {}))):
            continue
        collate = node.get('collate_fn', dict(type=pseudo_collate.__name__))
        kind = collate.get('type') if isinstance(collate, dict) else collate
        name = getattr(kind, '__name__', kind)
        if name != pseudo_collate.__name__:
            problems.append(f'{loader}.collate_fn={name!r}: its pipeline packs each image at its own size '
                            f'({PackImageForDeviceAugment.__name__}), which {name} would stack ("stack expects each '
                            f"tensor to be equal size\"); set {loader}.collate_fn=dict(type='pseudo_collate')")
    if problems:
        raise ConfigError('the config collates whole images of different sizes into one tensor:\n  ' +
                          '\n  '.join(problems))
