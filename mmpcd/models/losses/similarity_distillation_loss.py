import torch
import torch.nn.functional as F


def similarity_distillation_loss(student: torch.Tensor, teacher: torch.Tensor, queue: torch.Tensor,
                                 student_temperature: float, teacher_temperature: float,
                                 with_positive: bool = True) -> torch.Tensor:
    """The cross-entropy between the teacher's and the student's similarity distributions over a queue (SEED).

    With ``z^S``, ``z^T`` the ℓ2-normalized student and teacher embeddings of
    an image and ``d = [z^T; Q]`` the teacher embedding followed by the K
    queued teacher embeddings (SEED, Fang et al. ICLR 2021, its method; as
    jacobswan1/SEED's ``seed/builder.py`` computes it)::

        p^T_j = softmax_j(z^T · d_j / τ_T),  p^S_j = softmax_j(z^S · d_j / τ_S)
        L = 1/N Σ_i Σ_j -p^T_ij log p^S_ij

    Without the positive (``with_positive=False``) ``d = Q``: the teacher's
    and the student's similarities to the same anchors, CompRess-1q
    (Koohpayegani et al. NeurIPS 2020; ``CompReSSA`` of UMBCvision/CompRess's
    ``nn/compress_loss.py``), whose KL divergence is this
    cross-entropy minus the teacher's entropy (a constant for the student:
    the same gradient).

    Args:
        student: Student embeddings (N, C), ℓ2-normalized.
        teacher: Teacher embeddings (N, C), ℓ2-normalized.
        queue: Queued teacher embeddings (C, K), ℓ2-normalized.
        student_temperature: τ_S.
        teacher_temperature: τ_T.
        with_positive: Whether the teacher's own embedding is the first anchor.

    Returns:
        The mean over the N images.
    """
    queue = queue.detach().clone()  # the caller enqueues before the backward pass
    student_logits = student @ queue
    with torch.no_grad():
        teacher_logits = teacher @ queue
    if with_positive:
        student_logits = torch.cat([(student * teacher).sum(dim=1, keepdim=True), student_logits], dim=1)
        teacher_logits = torch.cat([(teacher * teacher).sum(dim=1, keepdim=True), teacher_logits], dim=1)
    target = F.softmax(teacher_logits / teacher_temperature, dim=1)
    return -(target * F.log_softmax(student_logits / student_temperature, dim=1)).sum(dim=1).mean()
