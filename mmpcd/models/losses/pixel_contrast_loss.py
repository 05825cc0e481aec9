from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch.autograd.function import once_differentiable

#: Bytes of fp32 logits held at once by the streamed loss (chunk of pixels x K negatives).
CHUNK_BYTES = 32 * 2**20


def _pixels(student: torch.Tensor, teacher: torch.Tensor, queue: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """Check the shapes; return the ℓ2-normalized pixels (N*H*W, C) of student and (detached) teacher."""
    if student.shape[:2] != teacher.shape[:2]:
        raise ValueError(f'student {tuple(student.shape)} and teacher {tuple(teacher.shape)} maps differ in '
                         'batch size or channels: the student\'s width (φ\'s out_channels, the MHSA) must be '
                         'the teacher head\'s output width (PCD builds them so from model.teacher)')
    if student.shape != teacher.shape:
        raise ValueError(f'student {tuple(student.shape)} and teacher {tuple(teacher.shape)} maps differ in '
                         'size; resize the teacher map first (PixelContrastHead does)')
    if queue.dim() != 2 or queue.shape[0] != student.shape[1]:
        raise ValueError(f'queue must be (C, K) with C={student.shape[1]}, got {tuple(queue.shape)}')

    def flat(x: torch.Tensor) -> torch.Tensor:  # fp16 / bf16 are normalized in fp32
        return F.normalize(x.to(torch.promote_types(x.dtype, torch.float32)), dim=1).permute(0, 2, 3, 1).flatten(0, 2)

    return flat(student), flat(teacher.detach())


class _StreamedPixelInfoNCE(torch.autograd.Function):
    """Mean InfoNCE over pixels, streamed over chunks of pixels.

    The (P, K) logits never exist whole: each chunk of pixels computes its
    logits against the queue, a log-sum-exp in fp32 and, when a gradient is
    needed, the gradient at once (it is ``(softmax - onehot) @ [t; queue]^T
    / τ``, known in the forward pass), so the backward pass only scales a
    saved (P, C) tensor. Peak memory is one chunk of logits instead of
    several (P, K) tensors, with the same two matrix products per chunk as
    the dense version and no recomputation.
    """

    @staticmethod
    def forward(ctx, s: torch.Tensor, t: torch.Tensor, queue: torch.Tensor, temperature: float,
                compute_dtype: torch.dtype, chunk: int) -> torch.Tensor:
        with torch.autocast(s.device.type, enabled=False):
            need_grad = ctx.needs_input_grad[0]
            negatives = queue.to(compute_dtype)
            losses = s.new_empty(len(s))
            grad = torch.empty_like(s) if need_grad else None
            for start in range(0, len(s), chunk):
                s_c, t_c = s[start:start + chunk], t[start:start + chunk]
                positive = (s_c * t_c).sum(dim=1) / temperature
                logits = (s_c.to(compute_dtype) @ negatives).to(s.dtype).div_(temperature)
                lse = torch.logaddexp(positive, torch.logsumexp(logits, dim=1))
                losses[start:start + chunk] = lse - positive
                if need_grad:
                    probs = logits.sub_(lse[:, None]).exp_()  # softmax over the negatives, in place
                    grad_c = (probs.to(compute_dtype) @ negatives.t()).to(s.dtype)
                    grad_c.add_(t_c * (torch.exp(positive - lse) - 1)[:, None])
                    grad[start:start + chunk] = grad_c.div_(temperature * len(s))
            if need_grad:
                ctx.save_for_backward(grad)
            return losses.mean()

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output: torch.Tensor):
        grad, = ctx.saved_tensors
        return grad * grad_output, None, None, None, None, None


def pixel_contrast_loss(student: torch.Tensor, teacher: torch.Tensor, queue: torch.Tensor, temperature: float = 0.2,
                        chunk_size: Optional[int] = None) -> torch.Tensor:
    """Pixel-wise contrastive distillation loss (PCD, eq. 3-4), memory-efficient.

    Every pixel ``i`` of the student map is contrasted with the teacher pixel
    at the same place (positive) and with the ``K`` queue entries (negatives):
    ``l_i = -log(exp(s_i·t_i/τ) / (exp(s_i·t_i/τ) + Σ_k exp(s_i·n_k/τ)))``,
    with ``s_i`` and ``t_i`` ℓ2-normalized. The result is the mean of ``l_i``
    over the pixels (eq. 3) and the batch.

    Memory: the straightforward computation (:func:`pixel_contrast_loss_dense`)
    materializes the (N·H·W, K+1) logits, their softmax and its gradient:
    about 1.6 GB each in fp32 at N=128, 7x7, K=65536. Here pixels are
    processed in chunks with a streamed log-sum-exp, and the gradient of each
    chunk is formed right away (it needs only the chunk's softmax), so the
    peak is one chunk of logits (:data:`CHUNK_BYTES`) plus (N·H·W, C)
    tensors, with no recomputation in backward. Same values and gradients as
    the dense version (fp32 rounding aside).

    Mixed precision: the normalization, the log-sum-exp and the gradient are
    kept in fp32; the two products with the queue run in the student's dtype
    (fp16 / bf16 under autocast).

    Args:
        student: Student map s*, (N, C, H, W).
        teacher: Teacher map t of the same shape (no gradient flows to it).
        queue: Negatives n_k, ℓ2-normalized, (C, K).
        temperature: τ. Defaults to 0.2.
        chunk_size: Pixels per chunk; by default as many as fit
            :data:`CHUNK_BYTES` of logits.

    Returns:
        The scalar loss, fp32 (fp64 for fp64 inputs).
    """
    s, t = _pixels(student, teacher, queue)
    compute_dtype = student.dtype if student.dtype in (torch.float16, torch.bfloat16) else s.dtype
    chunk = chunk_size or max(1, CHUNK_BYTES // (4 * queue.shape[1]))
    return _StreamedPixelInfoNCE.apply(s, t, queue.detach(), temperature, compute_dtype, chunk)


def pixel_contrast_loss_dense(student: torch.Tensor, teacher: torch.Tensor, queue: torch.Tensor,
                              temperature: float = 0.2) -> torch.Tensor:
    """The straightforward eq. 3-4: all (N·H·W, K+1) logits, then cross-entropy.

    The reference for :func:`pixel_contrast_loss` (same arguments), kept for
    tests and benchmarks.
    """
    s, t = _pixels(student, teacher, queue)
    positive = (s * t).sum(dim=1, keepdim=True)
    logits = torch.cat([positive, s @ queue.detach().to(s.dtype)], dim=1) / temperature
    return F.cross_entropy(logits, logits.new_zeros(len(logits), dtype=torch.long))
