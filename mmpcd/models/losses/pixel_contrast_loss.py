from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch.autograd.function import once_differentiable

#: Bytes of logits held at once by the streamed loss (a chunk of pixels x K negatives), by device type: small on a
#: CPU, where a chunk should stay near the caches; larger elsewhere (GPUs), where every chunk costs a dozen kernel
#: launches and 32 MiB chunks made the loss 2.5x slower than the unchunked one on an H200 (docs/benchmark.md).
CHUNK_BYTES = {'cpu': 32 * 2**20, 'other': 512 * 2**20}


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
                positive = (s_c * t_c).sum(dim=1) / temperature  # in s's dtype (fp32)
                logits = (s_c.to(compute_dtype) @ negatives).div_(temperature)  # (chunk, K), compute_dtype
                # log-sum-exp with a shift that both dtypes hold exactly, and the sum accumulated in s's dtype
                peak = torch.maximum(logits.amax(dim=1).to(s.dtype), positive).to(compute_dtype)
                probs = logits.sub_(peak[:, None]).exp_()  # exp(l - peak) <= 1, in place
                peak = peak.to(s.dtype)
                lse = peak + (probs.sum(dim=1, dtype=s.dtype) + torch.exp(positive - peak)).log()
                losses[start:start + chunk] = lse - positive
                if need_grad:
                    probs.mul_(torch.exp(peak - lse).to(compute_dtype)[:, None])  # softmax over the negatives
                    grad_c = (probs @ negatives.t()).to(s.dtype)  # |entries| <= 1: no fp16 overflow
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


def _compute_dtype(student: torch.Tensor, fp32: torch.dtype) -> torch.dtype:
    """The dtype of the products with the queue: the student's if fp16 / bf16, else autocast's where it is on."""
    if student.dtype in (torch.float16, torch.bfloat16):
        return student.dtype
    if torch.is_autocast_enabled(student.device.type):
        return torch.get_autocast_dtype(student.device.type)
    return fp32


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

    Mixed precision: under autocast (or for an fp16 / bf16 student map) the
    two products with the queue, the (chunk, K) logits and their element-wise
    work (shift, ``exp``, the softmax for the gradient) run in the autocast
    dtype, which halves the memory traffic of the loss's largest tensors;
    the normalization, the positive logit, the sum of the exponentials
    (accumulated in fp32), the log-sum-exp, the loss and the gradient's
    accumulation stay in fp32. The gradient's product uses the softmax
    itself (entries <= 1), so no fp16 value can overflow. Against the fp64
    loss (``tests/test_pixel_contrast.py``, C=256, K up to 65536): relative
    error of the loss below 5e-5 in bf16 and 4e-6 in fp16, of the gradient
    below 1.4e-3 and 1.6e-4.

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
    compute_dtype = _compute_dtype(student, s.dtype)
    budget = CHUNK_BYTES['cpu' if student.device.type == 'cpu' else 'other']
    chunk = chunk_size or max(1, budget // (compute_dtype.itemsize * queue.shape[1]))
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
