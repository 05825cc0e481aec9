from typing import Optional

import torch
import torch.nn.functional as F

from mmselfsup.registry import MODELS
from ..losses import similarity_distillation_loss
from .embedding_queue import EmbeddingQueue


@MODELS.register_module()
class SimilarityDistillHead(EmbeddingQueue):
    """SEED's head: the student matches the teacher's similarity distribution over a queue of teacher embeddings.

    Computes :func:`~mmpcd.models.losses.similarity_distillation_loss` between
    the ℓ2-normalized student and teacher image embeddings; the teacher
    embeddings are then gathered from all processes and enqueued (SEED's
    ``seed/builder.py``: ``_dequeue_and_enqueue(t_emb)``).

    Args:
        queue_len: Number of queued teacher embeddings K. Defaults to 65536
            (SEED's ``--queue``).
        feat_dim: Their dimension. Defaults to 128 (SEED's ``--dim``).
        student_temperature: τ_S. Defaults to 0.2 (SEED's ``--temp``).
        teacher_temperature: τ_T. Defaults to 1e-4 (SEED's ``--distill-t``,
            ``jacobswan1/SEED:tools/opts.py``, which its README's command
            keeps: ``docs/seed.md``).
        with_positive: Whether the teacher's own embedding is the first
            anchor (SEED); False: the queue alone (CompRess-1q).
        init_cfg: Initialization config.
    """

    def __init__(self, queue_len: int = 65536, feat_dim: int = 128, student_temperature: float = 0.2,
                 teacher_temperature: float = 1e-4, with_positive: bool = True,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(queue_len=queue_len, feat_dim=feat_dim, init_cfg=init_cfg)
        self.student_temperature = student_temperature
        self.teacher_temperature = teacher_temperature
        self.with_positive = with_positive

    def loss(self, student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
        """The loss of student (N, C) and teacher (N, C) embeddings, normalized here."""
        return similarity_distillation_loss(F.normalize(student, dim=1), F.normalize(teacher.float(),
                                                                                     dim=1), self.queue,
                                            self.student_temperature, self.teacher_temperature, self.with_positive)

    @torch.no_grad()
    def enqueue(self, teacher: torch.Tensor) -> None:
        """Normalize and enqueue teacher embeddings (N, C) of all processes."""
        self.push(F.normalize(teacher.float(), dim=1))
