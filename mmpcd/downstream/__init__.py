"""Parts of the downstream evaluations that register into mmdet / mmseg (imported by their configs only)."""
from .bn_fcn_head import BNFCNHead
from .mobilenet_v3_res5_shared_head import MobileNetV3Res5SharedHead
from .precise_bn_hook import PreciseBNHook

__all__ = ['BNFCNHead', 'MobileNetV3Res5SharedHead', 'PreciseBNHook']
