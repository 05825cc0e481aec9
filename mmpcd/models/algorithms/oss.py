from typing import Dict, List, Optional, Tuple, Union

import torch

from mmselfsup.models.algorithms.base import BaseModel
from mmselfsup.registry import MODELS
from mmselfsup.structures import SelfSupDataSample
from ..utils import multi_crop_embed, refuse_another_config


@MODELS.register_module()
class OSS(BaseModel):
    """Online SwAV distillation (OSS), teacher and student trained jointly (OSS appendix A.1, its pseudo-code).

    Teacher ``f + h_T`` (``teacher_backbone``, ``teacher_neck``) and student ``g + h_S`` (``backbone``, ``neck``),
    both :class:`OSSProjection` heads giving an embedding and its dropout view for every view (multi-crop:
    2 full-resolution views first, then V small crops), share the prototypes C of the :class:`OSSHead`. The codes
    q_1, q_2 come from the teacher's embeddings of the full-resolution views (with the queue); both networks predict
    them from all their other views (``loss_teacher``, ``loss_student``); the :class:`FeatureClassifier` D behind
    gradient reversal tells teacher from student embeddings (``loss_adversarial``). Everything is trained by the one
    optimizer (pseudo-code line 57: f, g, D, h_T, h_S, C).
    A checkpoint of another config (``load_from``, ``--resume``) is refused whole before anything is loaded
    (:func:`~mmpcd.models.utils.refuse_another_config`), as every mmpcd algorithm does.

    Args:
        backbone: Student backbone g (ResNet-18).
        neck: Student head h_S (:class:`OSSProjection`).
        head: :class:`OSSHead` (prototypes, queue, Sinkhorn, τ).
        teacher_backbone: Teacher backbone f (ResNet-50).
        teacher_neck: Teacher head h_T (:class:`OSSProjection`).
        classifier: :class:`FeatureClassifier` D.
        data_preprocessor: Data preprocessor config.
        init_cfg: Initialization config.
    """

    def __init__(self, backbone: dict, neck: dict, head: dict, teacher_backbone: dict, teacher_neck: dict,
                 classifier: dict, data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[Union[List[dict], dict]] = None) -> None:
        super().__init__(backbone=backbone, neck=neck, head=head, data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        self.teacher_backbone = MODELS.build(teacher_backbone)
        self.teacher_neck = MODELS.build(teacher_neck)
        self.classifier = MODELS.build(classifier)
        self.register_load_state_dict_pre_hook(refuse_another_config)

    def loss(self, inputs: List[torch.Tensor], data_samples: List[SelfSupDataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        """The OSS loss of a batch (pseudo-code lines 21-55).

        Args:
            inputs: The views, each (B, 3, H, W): the full-resolution ones first.
            data_samples: Unused.

        Returns:
            ``loss_teacher``, ``loss_student`` (loss1, loss2) and ``loss_adversarial`` (D's cross-entropies).
        """
        self.head.normalize_prototypes()
        prototypes = self.head.prototypes.weight
        # (z, z̃) of each network for all views (pseudo-code lines 21-24), the head once over all views as SwAV
        z, z_drop = multi_crop_embed(self.teacher_backbone, self.teacher_neck, inputs)
        w, w_drop = multi_crop_embed(self.backbone, self.neck, inputs)
        codes = self.head.codes(z, prototypes.detach(), batch=len(inputs[0]))
        teacher, student = torch.cat([z, z_drop]), torch.cat([w, w_drop])
        return dict(loss_teacher=self.head.loss(self.head.prototypes(teacher), codes),
                    loss_student=self.head.loss(self.head.prototypes(student), codes),
                    loss_adversarial=self.classifier.loss(teacher, 0) + self.classifier.loss(student, 1))

    def extract_feat(self, inputs: List[torch.Tensor], **kwargs) -> Tuple[torch.Tensor]:
        """The student backbone's features of the first view."""
        return self.backbone(inputs[0])
