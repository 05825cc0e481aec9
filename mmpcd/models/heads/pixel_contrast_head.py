from typing import Optional

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule

from mmselfsup.registry import MODELS
from mmselfsup.utils import concat_all_gather
from ..losses import pixel_contrast_loss


@MODELS.register_module()
class PixelContrastHead(BaseModule):
    """Pixel-wise contrastive head with a MoCo-style queue of negatives.

    Computes :func:`~mmpcd.models.pixel_contrast_loss` (eq. 3-4) between a
    student and a teacher map, resizing the teacher map bilinearly to the
    student's size when they differ, and keeps the queue: after the loss the
    teacher maps are global-average-pooled, ℓ2-normalized, gathered from all
    processes and enqueued (Sec. 3.2).

    Args:
        queue_len: Number of negatives K. Defaults to 65536. The queue is a
            ring buffer: any number of keys a step (a short last batch
            included) is written after the previous ones, wrapping around;
            more than K keys in one step keep the last K.
        feat_dim: Dimension C of the maps. Defaults to 256.
        temperature: τ. Defaults to 0.2.
        init_cfg: Initialization config.
    """

    def __init__(self,
                 queue_len: int = 65536,
                 feat_dim: int = 256,
                 temperature: float = 0.2,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.queue_len = queue_len
        self.temperature = temperature
        self.register_buffer('queue', F.normalize(torch.randn(feat_dim, queue_len), dim=0))
        self.register_buffer('queue_ptr', torch.zeros(1, dtype=torch.long))

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
        keys = concat_all_gather(F.normalize(teacher.float().mean(dim=(2, 3)), dim=1))
        end = int(self.queue_ptr) + keys.shape[0]  # written one after another: the last K keys survive
        kept = keys[-self.queue_len:]
        slots = torch.arange(end - kept.shape[0], end, device=keys.device) % self.queue_len
        self.queue[:, slots] = kept.t().to(self.queue.dtype)
        self.queue_ptr[0] = end % self.queue_len
