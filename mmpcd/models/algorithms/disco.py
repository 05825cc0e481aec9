from typing import Dict, List, Optional, Union

import torch
import torch.nn.functional as F
from mmengine.model import ExponentialMovingAverage
from torch import nn

from mmselfsup.registry import MODELS
from mmselfsup.structures import SelfSupDataSample
from mmselfsup.utils import batch_shuffle_ddp, batch_unshuffle_ddp
from .image_distiller import ImageDistiller


@MODELS.register_module()
class DisCo(ImageDistiller):
    """Distilled Contrastive Learning (DisCo, Gao et al. ECCV 2022) on MoCo v2.

    The student learns with its own MoCo v2 loss (query: the student's
    embedding of view 1; key: its momentum encoder's of view 2; negatives: a
    queue of keys; mmselfsup's ``ContrastiveHead``) plus a consistency loss,
    the squared error between the student's and the frozen teacher's
    ℓ2-normalized final embeddings of the same view, averaged over the
    images (DisCo's method; its code was not available to check)::

        L = L_MoCo(q, k, Q) + λ · 1/N Σ_i ‖q_i - t_i‖²,   q = ℓ2(g_S(f_S(x_1))), t = ℓ2(g_T(f_T(x_1)))

    (The mean over the C channels too, ``F.mse_loss``, would divide the
    consistency term by C and leave it negligible beside the InfoNCE term.)

    DisCo's fix of the "distilling bottleneck" is the student
    projection's larger hidden width (``neck.hid_channels``, 2048 in the
    configs). The momentum encoder is mmengine's
    ``ExponentialMovingAverage`` of backbone and projection, as in
    mmselfsup's ``MoCo``; the queue is an :class:`EmbeddingQueue`.

    Args:
        backbone: Student backbone config.
        neck: Student projection config (``MoCoV2Neck``).
        head: ``ContrastiveHead`` config (MoCo v2's InfoNCE, τ = 0.2).
        teacher: ``dict(backbone=..., neck=...)``: the teacher backbone and
            its head as a :class:`SpatialAdaptor`.
        queue: :class:`EmbeddingQueue` config (its ``feat_dim`` follows the
            teacher embedding).
        teacher_ckpt: Local path of the released teacher checkpoint.
        teacher_ckpt_format: Its layout, a key of ``TEACHER_FORMATS``.
        momentum: MoCo's momentum m of the key encoder. Defaults to 0.999.
        distill_weight: λ, the weight of the consistency loss. Defaults to 1.
        channels_last: Run the student in the channels-last memory format.
        data_preprocessor: Data preprocessor config.
        init_cfg: Initialization config of the student.
    """

    def __init__(self, backbone: dict, neck: dict, head: dict, teacher: dict, queue: dict,
                 teacher_ckpt: Optional[str] = None, teacher_ckpt_format: str = 'mocov3', momentum: float = 0.999,
                 distill_weight: float = 1.0, channels_last: bool = False, data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[Union[List[dict], dict]] = None) -> None:
        super().__init__(backbone=backbone, neck=neck, head=head, teacher=teacher, teacher_ckpt=teacher_ckpt,
                         teacher_ckpt_format=teacher_ckpt_format, queue=queue, channels_last=channels_last,
                         data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        # its first update copies the student's weights (mmengine's BaseAveragedModel)
        self.encoder_k = ExponentialMovingAverage(nn.Sequential(self.backbone, self.neck), 1 - momentum)
        self.distill_weight = distill_weight

    def loss(self, inputs: List[torch.Tensor], data_samples: List[SelfSupDataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        """MoCo v2's loss of view 1 against view 2, the consistency loss of view 1; then the queue update.

        Args:
            inputs: The two views, each (N, 3, H, W).
            data_samples: Unused.

        Returns:
            ``loss_contrast`` (MoCo v2) and ``loss_distill`` (λ · the mean squared distance).
        """
        im_q, im_k = inputs[:2]
        q = F.normalize(self.student_embedding(im_q), dim=1)
        with torch.no_grad():
            self.encoder_k.update_parameters(nn.Sequential(self.backbone, self.neck))
            im_k, idx_unshuffle = batch_shuffle_ddp(im_k)  # shuffled BN, as MoCo
            k = self.encoder_k(im_k.contiguous(memory_format=self.memory_format))[0]
            k = batch_unshuffle_ddp(F.normalize(k, dim=1), idx_unshuffle)
        teacher = F.normalize(self.teacher.embedding(im_q).float(), dim=1)
        loss_contrast = self.head((q * k).sum(dim=1, keepdim=True), q @ self.queue.queue.detach().clone())
        loss_distill = self.distill_weight * (q - teacher).pow(2).sum(dim=1).mean()
        self.queue.push(k)
        return dict(loss_contrast=loss_contrast, loss_distill=loss_distill)
