from .cw_relu import CWReLU
from .gradient_reversal import GradientReversal, grl_alpha
from .multi_crop import multi_crop_embed, multi_crop_forward
from .state_dict import (CheckpointMismatchError, check_same_config, keys_under, load_state_dict_strict,
                         mismatch_report, refuse_another_config)

__all__ = [
    'CWReLU', 'CheckpointMismatchError', 'GradientReversal', 'check_same_config', 'grl_alpha', 'keys_under',
    'load_state_dict_strict', 'mismatch_report', 'multi_crop_embed', 'multi_crop_forward', 'refuse_another_config'
]
