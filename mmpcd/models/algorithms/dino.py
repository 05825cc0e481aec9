from typing import Dict, List, Optional, Union

import torch
from torch import nn

from mmselfsup.models.algorithms.base import BaseModel
from mmselfsup.models.utils import CosineEMA
from mmselfsup.registry import MODELS
from mmselfsup.structures import SelfSupDataSample
from ..utils import multi_crop_embed, refuse_another_config


@MODELS.register_module()
class DINO(BaseModel):
    """DINO: self-distillation with no labels (Caron et al., 2021), the base of SSLight (Tan et al., 2023).

    The student (``backbone`` + :class:`DINOProjection` ``neck``) sees every view (multi-crop: N_g global views
    first, then the local ones): the backbone once per resolution, the head once over the pooled features of all
    views, so that a BN in the head (SSLight's ``with_bn=True``) normalizes over every view at once
    (:func:`multi_crop_embed`, DINO's and SSLight's ``MultiCropWrapper``); the teacher, an EMA of the student
    (:class:`CosineEMA`, momentum ``base_momentum`` rising to ``end_momentum`` on a cosine over the iterations, DINO
    eq. 2; its first step copies the student), sees the global views only, the same way. The loss
    (centring, sharpening, the pairs and SSLight's α) is the :class:`DINOHead`'s; the teacher temperature
    schedule and the first epoch's frozen last layer are :class:`~mmpcd.engine.hooks.DINOHook`'s.
    No package installed here provides DINO (mmselfsup 1.0.0 does not).
    A checkpoint of another config (``load_from``, ``--resume``) is refused whole before anything is loaded
    (:func:`~mmpcd.models.utils.refuse_another_config`), as every mmpcd algorithm does.

    Args:
        backbone: Student backbone config.
        neck: :class:`DINOProjection` config.
        head: :class:`DINOHead` config.
        base_momentum: The teacher's EMA momentum at the first iteration (DINO: 0.996).
        end_momentum: Its value at the last iteration (1).
        data_preprocessor: Data preprocessor config.
        init_cfg: Initialization config.
    """

    def __init__(self, backbone: dict, neck: dict, head: dict, base_momentum: float = 0.996, end_momentum: float = 1.,
                 data_preprocessor: Optional[dict] = None, init_cfg: Optional[Union[List[dict], dict]] = None) -> None:
        super().__init__(backbone=backbone, neck=neck, head=head, data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        self.teacher = CosineEMA(nn.Sequential(self.backbone, self.neck), momentum=base_momentum,
                                 end_momentum=end_momentum)
        self.register_load_state_dict_pre_hook(refuse_another_config)

    def student(self, views: List[torch.Tensor]) -> torch.Tensor:
        """The student's K-d outputs of all views, view after view, (V N, K)."""
        return multi_crop_embed(self.backbone, self.neck, views)

    def loss(self, inputs: List[torch.Tensor], data_samples: List[SelfSupDataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        """The teacher's EMA step (as mmselfsup's BYOL, before the forward), then the loss of a batch.

        Args:
            inputs: The views, each (N, 3, H, W): the global ones first.
            data_samples: Unused.

        Returns:
            ``dict(loss=...)``.
        """
        self.teacher.update_parameters(nn.Sequential(self.backbone, self.neck))
        with torch.no_grad():
            teacher_out = multi_crop_embed(*self.teacher.module, inputs[:self.head.num_global_views])
        return dict(loss=self.head.loss(self.student(inputs), teacher_out))

    def extract_feat(self, inputs: List[torch.Tensor], **kwargs):
        """The student backbone's features of the first view."""
        return self.backbone(inputs[0])
