from .cw_relu import CWReLU
from .gradient_reversal import GradientReversal, grl_alpha
from .multi_crop import multi_crop_embed, multi_crop_forward
from .state_dict import CheckpointMismatchError, load_state_dict_strict, mismatch_report

__all__ = [
    'CWReLU', 'CheckpointMismatchError', 'GradientReversal', 'grl_alpha', 'load_state_dict_strict', 'mismatch_report',
    'multi_crop_embed', 'multi_crop_forward'
]
