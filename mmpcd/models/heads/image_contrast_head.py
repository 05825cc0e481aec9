import torch

from mmselfsup.registry import MODELS
from .pixel_contrast_head import PixelContrastHead


@MODELS.register_module()
class ImageContrastHead(PixelContrastHead):
    """The image-level variant of PCD (Table 2): both maps are vectorised by an extra global average pooling,
    and the contrastive loss of eq. 4 is computed on the vectors, against the same queue of pooled teacher maps.

    Args: as :class:`PixelContrastHead`.
    """

    def loss(self, student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
        """The loss of one view: student (N, C, h, w), teacher (N, C, H, W), each pooled to (N, C, 1, 1)."""
        return super().loss(student.mean(dim=(2, 3), keepdim=True), teacher.mean(dim=(2, 3), keepdim=True))
