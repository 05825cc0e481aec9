import torch
import torch.nn.functional as F


def pixel_contrast_loss(student: torch.Tensor, teacher: torch.Tensor, queue: torch.Tensor,
                        temperature: float = 0.2) -> torch.Tensor:
    """Pixel-wise contrastive distillation loss (PCD, eq. 3-4).

    Every pixel ``i`` of the student map is contrasted with the teacher pixel
    at the same place (positive) and with the ``K`` queue entries (negatives):
    ``l_i = -log(exp(s_i·t_i/τ) / (exp(s_i·t_i/τ) + Σ_k exp(s_i·n_k/τ)))``,
    with ``s_i`` and ``t_i`` ℓ2-normalized. The result is the mean of ``l_i``
    over the pixels (eq. 3) and the batch.

    Args:
        student: Student map s*, (N, C, H, W).
        teacher: Teacher map t of the same shape (no gradient flows to it).
        queue: Negatives n_k, ℓ2-normalized, (C, K).
        temperature: τ. Defaults to 0.2.

    Returns:
        The scalar loss.
    """
    if student.shape != teacher.shape:
        raise ValueError(f'student {tuple(student.shape)} and teacher {tuple(teacher.shape)} maps must '
                         'have the same shape; resize the teacher map first (PixelContrastHead does)')
    if queue.dim() != 2 or queue.shape[0] != student.shape[1]:
        raise ValueError(f'queue must be (C, K) with C={student.shape[1]}, got {tuple(queue.shape)}')
    s = F.normalize(student, dim=1).permute(0, 2, 3, 1).flatten(0, 2)  # (N*H*W, C)
    t = F.normalize(teacher.detach(), dim=1).permute(0, 2, 3, 1).flatten(0, 2)
    positive = (s * t).sum(dim=1, keepdim=True)
    negatives = s @ queue.detach().to(s.dtype)
    logits = torch.cat([positive, negatives], dim=1) / temperature
    logits = logits.to(torch.promote_types(logits.dtype, torch.float32))  # fp16/bf16 -> fp32
    return F.cross_entropy(logits, logits.new_zeros(len(logits), dtype=torch.long))
