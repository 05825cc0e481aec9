"""Fixes for the pinned OpenMMLab stack, applied when mmpcd is imported.

* mmselfsup 1.0.0's RUNNERS, RUNNER_CONSTRUCTORS and LOOPS registries name a
  module that does not exist (``mmselfsup.engine.runner``); a Runner with
  ``default_scope='mmselfsup'`` fails on it. They hold nothing of their own,
  so they are marked as imported and fall back to mmengine's entries.
* torch >= 2.6 loads with ``weights_only=True``; mmengine's own checkpoints
  (resume, ``load_from``) then fail on the objects its MessageHub stores.
  Those few classes are allowed with ``torch.serialization.add_safe_globals``:
  the protection stays on, and a checkpoint holding anything else still
  fails to load. mmengine's ``HistoryBuffer`` also pickles its built-in
  statistics methods as ``getattr(HistoryBuffer, 'mean')``; allowing
  ``getattr`` would let a crafted file reach any callable, so instead the
  built-in methods (which every HistoryBuffer registers again) are left out
  of the checkpoints mmpcd writes.
* mmengine loads local checkpoints (``load_from``, resume, ``Pretrained``)
  with a bare ``torch.load``: an unreadable file gives torch's raw error,
  which advises ``weights_only=False``; and URLs (``http(s)://``,
  ``torchvision://``, ``open-mmlab://``, ``mmcls://``) with
  ``torch.hub.load_state_dict_from_url``, whose ``weights_only`` is False: a
  downloaded file ran the code pickled in it. Every scheme of its
  ``CheckpointLoader`` is read through the loaders of
  :data:`mmpcd.fileio.CHECKPOINT_SCHEMES` instead, ``weights_only=True``,
  naming the file.
"""
import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader

from mmselfsup.registry import LOOPS, RUNNER_CONSTRUCTORS, RUNNERS
from .fileio import CHECKPOINT_SCHEMES

_BUILTIN_STATISTICS = ('min', 'max', 'current', 'mean')


def _history_buffer_getstate(self: HistoryBuffer) -> dict:
    """HistoryBuffer's state without the built-in statistics methods."""
    custom = {k: v for k, v in self._statistics_methods.items() if k not in _BUILTIN_STATISTICS}
    state = {k: v for k, v in self.__dict__.items() if k != 'statistics_methods'}
    return dict(state, statistics_methods=custom) if custom else state


def _history_buffer_setstate(self: HistoryBuffer, state: dict) -> None:
    """Restore a HistoryBuffer, registering the built-in statistics methods."""
    for name in _BUILTIN_STATISTICS:
        self._statistics_methods.setdefault(name, getattr(HistoryBuffer, name))
    self._statistics_methods.update(state.pop('statistics_methods', {}))
    self.__dict__.update(state)


def apply() -> None:
    """Apply the fixes (idempotent)."""
    for registry in (RUNNERS, RUNNER_CONSTRUCTORS, LOOPS):
        registry._imported = True
    HistoryBuffer.__getstate__ = _history_buffer_getstate
    HistoryBuffer.__setstate__ = _history_buffer_setstate
    for prefixes, loader in CHECKPOINT_SCHEMES.items():
        CheckpointLoader.register_scheme(prefixes=prefixes, loader=loader, force=True)
    torch.serialization.add_safe_globals([
        # by the names pickle records, numpy 1 and 2 (the objects live in numpy.core._multiarray_umath)
        *[(getattr(np.core.multiarray, name), f'{module}.multiarray.{name}') for name in ('_reconstruct', 'scalar')
          for module in ('numpy.core', 'numpy._core')],
        HistoryBuffer,
        np.ndarray,
        np.dtype,
        *{type(np.dtype(t))
          for t in ('float64', 'float32', 'int64', 'int32', 'bool')},
        np.float64,
    ])
