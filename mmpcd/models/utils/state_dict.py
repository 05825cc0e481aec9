from typing import Dict, Mapping

import torch
from torch import nn


class CheckpointMismatchError(ValueError):
    """A checkpoint does not match the module it is loaded into."""


def load_state_dict_strict(module: nn.Module, state_dict: Mapping[str, torch.Tensor],
                           source: str, expected_format: str) -> None:
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
    expected: Dict[str, torch.Tensor] = module.state_dict()
    missing = sorted(set(expected) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(expected))
    wrong_shape = sorted(
        f'{k}: checkpoint {tuple(state_dict[k].shape)}, model {tuple(v.shape)}'
        for k, v in expected.items()
        if k in state_dict and tuple(state_dict[k].shape) != tuple(v.shape))
    if missing or unexpected or wrong_shape:
        def listing(title, keys):
            shown = ', '.join(keys[:20]) + (f' ... ({len(keys)} in all)' if len(keys) > 20 else '')
            return f'\n  {title} ({len(keys)}): {shown}' if keys else ''

        raise CheckpointMismatchError(
            f'{source} does not match the model: expected {expected_format}.'
            + listing('missing keys', missing)
            + listing('unexpected keys', unexpected)
            + listing('keys with a wrong shape', wrong_shape))
    module.load_state_dict(state_dict, strict=True)
