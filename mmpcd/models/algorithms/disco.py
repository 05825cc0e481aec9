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
    """Distilled Contrastive Learning (DisCo, Gao et al. ECCV 2022) on MoCo v2, as its authors' code computes it.

    The student learns with its own MoCo v2 loss (query: the student's
    embedding of view 1; key: its momentum encoder's of view 2; negatives: a
    queue of keys; mmselfsup's ``ContrastiveHead``) plus a consistency term
    on **both** views: the student's query encoder embeds view 1 and view 2,
    and each is pulled to the frozen teacher's ℓ2-normalized embedding of the
    same view by a squared error **summed** over the images of the
    process's batch and over the channels
    (``Yuting-Gao/DisCo-pytorch:DisCo/moco/builder_kq_mse_largeembedding_2048.py``,
    ``MoCo.forward``: ``q``, ``qk = self.encoder_q(im_k)``, ``teacher_q``,
    ``teacher_qk``; ``DisCo/main.py``: ``nn.MSELoss(reduction='sum')``,
    ``loss = 1.0 * loss + 1.0 * mse_loss + 1.0 * mse_loss_qk``)::

        L = L_MoCo(q_1, k_2, Q) + λ Σ_i ‖q_1,i - t_1,i‖² + λ Σ_i ‖q_2,i - t_2,i‖²
        q_v = ℓ2(g_S(f_S(x_v))),  k_2 = ℓ2(g_K(f_K(x_2))),  t_v = ℓ2(g_T(f_T(x_v)))

    The sums make λ a weight per image: relative to the per-image mean of
    the InfoNCE term, the consistency weighs λ · N for a batch of N images
    per process (``docs/disco.md``). DisCo's fix of the "distilling
    bottleneck" is the student projection's larger hidden width
    (``neck.hid_channels``, 2048 in the configs). The momentum encoder is
    mmengine's ``ExponentialMovingAverage`` of backbone and projection, as in
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
        distill_weight: λ, the weight of each view's summed squared error.
            Defaults to 1 (DisCo's ``main.py``).
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

    def consistency(self, student: torch.Tensor, view: torch.Tensor) -> torch.Tensor:
        """λ Σ_i ‖student_i - ℓ2(teacher(view)_i)‖² (``nn.MSELoss(reduction='sum')``) for normalized ``student``."""
        teacher = F.normalize(self.teacher.embedding(view).float(), dim=1)
        return self.distill_weight * F.mse_loss(student, teacher, reduction='sum')

    def loss(self, inputs: List[torch.Tensor], data_samples: List[SelfSupDataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        """MoCo v2's loss of view 1 against view 2, the consistency loss of each view; then the queue update.

        Args:
            inputs: The two views, each (N, 3, H, W).
            data_samples: Unused.

        Returns:
            ``loss_contrast`` (MoCo v2), ``loss_distill_q`` and ``loss_distill_k`` (the consistency of view 1
            and of view 2, DisCo's ``mse_loss`` and ``mse_loss_qk``).
        """
        im_q, im_k = inputs[:2]
        q = F.normalize(self.student_embedding(im_q), dim=1)
        qk = F.normalize(self.student_embedding(im_k), dim=1)  # the query encoder on the key view, its own batch
        with torch.no_grad():
            self.encoder_k.update_parameters(nn.Sequential(self.backbone, self.neck))
            shuffled, idx_unshuffle = batch_shuffle_ddp(im_k)  # shuffled BN, as MoCo
            k = self.encoder_k(shuffled.contiguous(memory_format=self.memory_format))[0]
            k = batch_unshuffle_ddp(F.normalize(k, dim=1), idx_unshuffle)
        loss_contrast = self.head((q * k).sum(dim=1, keepdim=True), q @ self.queue.queue.detach().clone())
        losses = dict(loss_contrast=loss_contrast, loss_distill_q=self.consistency(q, im_q),
                      loss_distill_k=self.consistency(qk, im_k))
        self.queue.push(k)
        return losses
