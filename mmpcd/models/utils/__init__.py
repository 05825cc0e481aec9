from .cw_relu import CWReLU
from .state_dict import CheckpointMismatchError, load_state_dict_strict, mismatch_report

__all__ = ['CWReLU', 'CheckpointMismatchError', 'load_state_dict_strict', 'mismatch_report']
