from typing import Optional

import torch
import torch.nn.functional as F

from mmselfsup.registry import MODELS
from ..losses import pixel_contrast_loss
from .embedding_queue import EmbeddingQueue


@MODELS.register_module()
class PixelContrastHead(EmbeddingQueue):
    """Pixel-wise contrastive head with a MoCo-style queue of negatives.

    Computes :func:`~mmpcd.models.pixel_contrast_loss` (eq. 3-4) between a
    student and a teacher map, resizing the teacher map bilinearly to the
    student's size when they differ, and keeps the queue: after the loss the
    teacher maps are global-average-pooled, ℓ2-normalized, gathered from all
    processes and enqueued (Sec. 3.2; the queue is :class:`EmbeddingQueue`'s).

    Args:
        queue_len: Number of negatives K. Defaults to 65536.
        feat_dim: Dimension C of the maps. Defaults to 256.
        temperature: τ. Defaults to 0.2.
        init_cfg: Initialization config.
    """

    def __init__(self, queue_len: int = 65536, feat_dim: int = 256, temperature: float = 0.2,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(queue_len=queue_len, feat_dim=feat_dim, init_cfg=init_cfg)
        self.temperature = temperature

    def loss(self, student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
        """The loss of one view: student (N, C, h, w), teacher (N, C, H, W)."""
        if teacher.shape[2:] != student.shape[2:]:
            teacher = F.interpolate(teacher, size=student.shape[2:], mode='bilinear', align_corners=False)
        # No copy of the queue is needed although enqueue() overwrites it before the backward pass:
        # pixel_contrast_loss forms its gradient in the forward pass and keeps no reference to the queue.
        return pixel_contrast_loss(student, teacher, self.queue, self.temperature)

    @torch.no_grad()
    def enqueue(self, teacher: torch.Tensor) -> None:
        """Pool, normalize and enqueue teacher maps (N, C, H, W) of all processes."""
        self.push(F.normalize(teacher.float().mean(dim=(2, 3)), dim=1))
