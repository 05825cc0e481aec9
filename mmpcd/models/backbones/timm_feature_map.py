from typing import Optional, Tuple

import torch
from mmengine.model import BaseModule

from mmselfsup.registry import MODELS


@MODELS.register_module()
class TimmFeatureMap(BaseModule):
    """A timm network without its classifier, giving its last feature map.

    CNNs give ``forward_features`` as is; vision transformers give their
    final (normed) patch tokens as a map, prefix tokens (CLS) dropped:
    (N, 768, 14, 14) for ViT-B/16 at 224 px, the input of MoCo v3's head.
    Used for teachers whose released weights are timm-shaped (MoCo v3
    ViT-B/16, EfficientNet-Lite0); no weights are downloaded.

    Args:
        model_name: timm model name, e.g. ``'vit_base_patch16_224'``.
        init_cfg: Initialization config.
        **kwargs: Passed to ``timm.create_model`` (``dynamic_img_size=True``
            lets a ViT take other input sizes).
    """

    def __init__(self, model_name: str, init_cfg: Optional[dict] = None, **kwargs) -> None:
        super().__init__(init_cfg=init_cfg)
        import timm
        self.model = timm.create_model(model_name, pretrained=False, num_classes=0, **kwargs)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor]:
        """The last feature map of images (N, 3, H, W), as a 1-tuple."""
        feats = self.model.forward_features(x)
        if feats.dim() == 3:  # tokens (N, prefix + h * w, C)
            h, w = self.model.patch_embed.dynamic_feat_size(x.shape[2:]) if getattr(
                self.model, 'dynamic_img_size', False) else self.model.patch_embed.grid_size
            patches = feats[:, self.model.num_prefix_tokens:]
            feats = patches.transpose(1, 2).reshape(len(x), -1, h, w)
        return (feats, )
