import torch
from mmdet.registry import MODELS

from mmpcd.models.backbones.mobilenet_v3_stages import MOBILENET_V3_LARGE_STAGES, MobileNetV3Stages


@MODELS.register_module()
class MobileNetV3Res5SharedHead(MobileNetV3Stages):
    """res5 of MobileNet v3 Large as the RoI head of a C4 detector (PCD appendix B.2, Table 6).

    What mmdet's ``ResLayer`` (detectron2's ``Res5ROIHeads``) is for a
    ResNet: the backbone ends at res4 (stride 16, 112 channels) and res5
    (bottlenecks 13-15 and the last conv, 960 channels) runs on each 14x14
    RoI feature, its stride-2 bottleneck giving 7x7. Its layers keep the
    student's names (``layer13``-``layer16``), so the ``Pretrained``
    ``init_cfg`` that loads the backbone loads this head from the same file.

    Args:
        **kwargs: :class:`MobileNetV3Stages` arguments (``norm_cfg``,
            ``norm_eval``, ``init_cfg``, ...) but ``out_stages``.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(out_stages=('res5', ), **kwargs)
        self._drop_layers(self.layers[:MOBILENET_V3_LARGE_STAGES['res5'][0]])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """RoI features (N, 112, 14, 14) -> (N, 960, 7, 7)."""
        for name in self.layers:
            x = getattr(self, name)(x)
        return x
