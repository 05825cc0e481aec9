from typing import Sequence

from mmcls.models.backbones import MobileNetV3

from mmselfsup.registry import MODELS

#: PCD appendix B.2: the 17 modules of MobileNet v3 Large (mmcls ``layer0`` = first conv, ``layer1``-
#: ``layer15`` = the 15 inverted bottlenecks, ``layer16`` = last conv) partitioned by stride, with res4 at
#: stride 16. Each stage is its (first, last) mmcls layer index; output strides 2, 4, 8, 16, 32.
MOBILENET_V3_LARGE_STAGES = dict(stem=(0, 1), res2=(2, 3), res3=(4, 6), res4=(7, 12), res5=(13, 16))


@MODELS.register_module()
class MobileNetV3Stages(MobileNetV3):
    """MobileNet v3 Large giving the outputs of the paper's res2-res5 stages.

    The stages follow appendix B.2 (:data:`MOBILENET_V3_LARGE_STAGES`): the
    outputs have strides 4, 8, 16, 32 and 24, 40, 112, 960 channels, like
    the C2-C5 maps of a ResNet, so detection necks (FPN, C4) can use them.
    The stem is the first conv and the first inverted bottleneck (both of
    stride 2: the partition rule puts modules of one stride together).
    Stages after the last output are not built (a C4 backbone ends at res4,
    whose res5 is the RoI head's :class:`MobileNetV3Res5SharedHead`). Layer
    names are mmcls's, so one student checkpoint loads into any of these.

    Args:
        out_stages: Which stages to output. Defaults to res2-res5.
        res5_dilation: With 2, res5's bottlenecks run at stride 1 with their
            depthwise convs dilated by 2: res5 stays at output stride 16, as
            ResNet's ``strides=(1, 2, 2, 1), dilations=(1, 1, 1, 2)`` for
            segmentation (torchvision's dilated MobileNet v3 does the same).
            Defaults to 1 (stride 32).
        **kwargs: Other :class:`mmcls.models.backbones.MobileNetV3` arguments.
    """

    def __init__(self, out_stages: Sequence[str] = ('res2', 'res3', 'res4', 'res5'), res5_dilation: int = 1,
                 **kwargs) -> None:
        unknown = set(out_stages) - set(MOBILENET_V3_LARGE_STAGES)
        if unknown:
            raise ValueError(f'unknown stages {sorted(unknown)}; choose from {list(MOBILENET_V3_LARGE_STAGES)}')
        out_indices = sorted(MOBILENET_V3_LARGE_STAGES[s][1] for s in out_stages)
        super().__init__(arch='large', out_indices=out_indices, **kwargs)
        self._drop_layers(self.layers[out_indices[-1] + 1:])
        if res5_dilation != 1:
            first, last = MOBILENET_V3_LARGE_STAGES['res5']
            if out_indices[-1] < first:
                raise ValueError(f'res5_dilation={res5_dilation} needs res5 in out_stages, got {out_stages}')
            for index in range(first, last):  # the bottlenecks; the last module is a 1x1 conv
                conv = getattr(self, f'layer{index}').depthwise_conv.conv
                conv.stride = (1, 1)
                conv.dilation = (res5_dilation, res5_dilation)
                conv.padding = (res5_dilation * (conv.kernel_size[0] // 2), ) * 2

    def _drop_layers(self, names: Sequence[str]) -> None:
        """Remove the mmcls layers ``names`` (the others keep their names)."""
        for name in names:
            delattr(self, name)
        self.layers = [name for name in self.layers if name not in names]
