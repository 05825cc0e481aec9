"""Parts of the downstream evaluations that register into mmdet / mmseg (imported by their configs only)."""
from .bn_fcn_head import BNFCNHead

__all__ = ['BNFCNHead']
