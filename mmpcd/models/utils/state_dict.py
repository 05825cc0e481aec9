from typing import Dict, List, Mapping

import torch
from torch import nn


class CheckpointMismatchError(ValueError):
    """A checkpoint does not match the module it is loaded into."""


class NonFiniteWeightsError(ValueError):
    """Weights that hold nan or infinite values."""


def check_finite(state_dict: Mapping[str, torch.Tensor], what: str, advice: str) -> None:
    """Refuse ``state_dict`` if a floating-point tensor of it holds nan or infinite values.

    Args:
        state_dict: The tensors.
        what: What they are, for the message (``'the teacher checkpoint X'``).
        advice: What to do instead, the message's last sentence.

    Raises:
        NonFiniteWeightsError: Naming the first such tensors and their count.
    """
    bad = [
        key for key, value in state_dict.items()
        if torch.is_tensor(value) and value.is_floating_point() and not bool(torch.isfinite(value).all())
    ]
    if bad:
        more = f' and {len(bad) - 3} more' if len(bad) > 3 else ''
        raise NonFiniteWeightsError(f'{what} holds non-finite weights (nan or inf): {", ".join(bad[:3])}{more} of '
                                    f'{len(state_dict)} tensors. {advice}')


def load_state_dict_strict(module: nn.Module, state_dict: Mapping[str, torch.Tensor], source: str,
                           expected_format: str) -> None:
    """Load ``state_dict`` into ``module``, failing loudly on any mismatch.

    Unlike ``module.load_state_dict(strict=True)`` the error names every
    missing, unexpected and wrongly shaped key at once, and says which
    checkpoint layout was expected, so that a wrong file is easy to diagnose.

    Args:
        module: The module to load into.
        state_dict: Tensors keyed like ``module.state_dict()``.
        source: Where the tensors came from (a file and key prefix), for the
            error message.
        expected_format: A description of the layout that was expected.

    Raises:
        CheckpointMismatchError: If any key is missing, unexpected or of a
            wrong shape. Nothing is loaded in that case.
    """
    report = mismatch_report(module.state_dict(), state_dict)
    if report:
        raise CheckpointMismatchError(f'{source} does not match the model: expected {expected_format}.{report}')
    module.load_state_dict(state_dict, strict=True)


def mismatch_report(expected: Mapping[str, torch.Tensor], found: Mapping[str, torch.Tensor]) -> str:
    """The missing, unexpected and wrongly shaped keys of ``found`` against ``expected``, one line a kind
    (the first 20 keys of each), or ``''`` when they match."""
    missing = sorted(set(expected) - set(found))
    unexpected = sorted(set(found) - set(expected))
    wrong_shape = sorted(f'{k}: checkpoint {tuple(found[k].shape)}, model {tuple(v.shape)}'
                         for k, v in expected.items() if k in found and found[k].shape != v.shape)

    def listing(title: str, keys: List[str]) -> str:
        shown = ', '.join(keys[:20]) + (f' ... ({len(keys)} in all)' if len(keys) > 20 else '')
        return f'\n  {title} ({len(keys)}): {shown}' if keys else ''

    return (listing('missing keys', missing) + listing('unexpected keys', unexpected) +
            listing('keys with a wrong shape', wrong_shape))


def keys_under(state_dict: Mapping[str, torch.Tensor], prefix: str) -> Dict[str, torch.Tensor]:
    """The entries of ``state_dict`` whose key starts with ``prefix``, keyed without it."""
    return {k[len(prefix):]: v for k, v in state_dict.items() if k.startswith(prefix)}


def check_same_config(expected: Mapping[str, torch.Tensor], found: Mapping[str, torch.Tensor]) -> None:
    """Refuse a checkpoint written for another config, whole: every key of ``expected`` must be in ``found``
    with its shape, and ``found`` must hold no other.

    Raises:
        CheckpointMismatchError: Naming the missing, unexpected and wrongly
            shaped keys.
    """
    report = mismatch_report(expected, found)
    if report:
        raise CheckpointMismatchError(f'the checkpoint does not match this model (was it written for another '
                                      f'config?); nothing was loaded.{report}')


def refuse_another_config(module: nn.Module, state_dict: Mapping[str, torch.Tensor], prefix: str, *args) -> None:
    """A load pre-hook (``module.register_load_state_dict_pre_hook(refuse_another_config)``) that refuses a
    checkpoint of another config before anything is loaded (:func:`check_same_config`), for ``load_from``,
    ``--resume`` and ``load_state_dict`` alike: mmengine loads ``load_from`` with ``strict=False``, which
    loads the keys that match, warns and trains a partly random model."""
    check_same_config(module.state_dict(), keys_under(state_dict, prefix))
