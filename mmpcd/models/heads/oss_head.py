from typing import List, Optional

import torch
from mmengine.dist import get_world_size
from mmengine.model import BaseModule
from torch import nn

from mmselfsup.registry import MODELS
from mmselfsup.utils import distributed_sinkhorn


@MODELS.register_module()
class OSSHead(BaseModule):
    """OSS's online clustering and swapped prediction (OSS appendix A.1, pseudo-code lines 26-51; SwAV, Caron et
    al., 2020).

    Codes ``q_i`` come from the teacher's scores of the two full-resolution views (i = 1, 2) by Sinkhorn-Knopp
    (mmselfsup's :func:`distributed_sinkhorn`: ``sinkhorn_iterations`` iterations, ε = ``epsilon``), the scores of
    the queued teacher embeddings of earlier batches appended (only the current batch's codes enter the loss).
    Each network predicts ``q_i`` from every other of its 2 (2 + V) views (the clean and the dropout ones):
    ``-mean(Σ q_i log softmax(scores_v / τ))``, summed over v != i and divided by ``2 (2 + V) - 2`` and by 2, as
    the pseudo-code writes (lines 45-51; it sums ``2 (2 + V) - 1`` terms).

    The queue (2 x ``queue_length`` / processes x E, a buffer, so a resumed run keeps it) holds the teacher's
    embeddings of the two full-resolution views of the last batches; it is filled once ``queue_active`` is set
    (:class:`~mmpcd.engine.hooks.OSSHook`: from the 15th epoch, A.1 "Online clustering") and used once full, as
    SwAV's ``main_swav.py`` does. Each process keeps its own part, as SwAV: the Sinkhorn sums run over every
    process.

    Args:
        feat_dim: Embedding width E (128).
        num_prototypes: K (3000), or None when the prototypes are given (the offline variant's frozen teacher's).
        temperature: τ (0.1).
        epsilon: ε of Sinkhorn-Knopp (0.05).
        sinkhorn_iterations: Its iterations (3).
        queue_length: Stored embeddings per view over all processes (3840 at batch 256); 0 for none.
        num_assign_views: Views that give codes, the first ones (the 2 full-resolution views).
    """

    def __init__(self, feat_dim: int = 128, num_prototypes: Optional[int] = 3000, temperature: float = 0.1,
                 epsilon: float = 0.05, sinkhorn_iterations: int = 3, queue_length: int = 3840,
                 num_assign_views: int = 2) -> None:
        super().__init__()
        self.prototypes = nn.Linear(feat_dim, num_prototypes, bias=False) if num_prototypes else None
        self.temperature = temperature
        self.epsilon = epsilon
        self.sinkhorn_iterations = sinkhorn_iterations
        self.num_assign_views = num_assign_views
        self.register_buffer('queue', torch.zeros(num_assign_views, queue_length // get_world_size(), feat_dim))
        self.queue_active = False

    @torch.no_grad()
    def normalize_prototypes(self) -> None:
        """ℓ2-normalize each prototype (the pseudo-code's ``C = normalize(C, dim=0)``, done before each step as
        mmselfsup's SwAV does: the same prototypes at every loss)."""
        self.prototypes.weight.copy_(nn.functional.normalize(self.prototypes.weight, dim=1))

    @torch.no_grad()
    def codes(self, embeddings: torch.Tensor, prototypes: torch.Tensor, batch: int) -> List[torch.Tensor]:
        """The codes of the first ``num_assign_views`` views, then the queue update (pseudo-code lines 31-41).

        Args:
            embeddings: The teacher's ℓ2-normalized embeddings, view after view, (V B, E).
            prototypes: C, (K, E), ℓ2-normalized rows.
            batch: B, the images per view in this process.

        Returns:
            ``q_i``, each (B, K): every row sums to 1 and every prototype gets B / K of the mass.
        """
        fill = self.queue_active and self.queue.shape[1] > 0
        if fill and batch > self.queue.shape[1]:
            raise ValueError(f'OSSHead: the queue ({self.queue.shape[1]} embeddings per view and process) is '
                             f'shorter than a batch ({batch}); set head.queue_length to at least the batch size '
                             'times the number of processes')
        codes = []
        for i in range(self.num_assign_views):
            current = embeddings[i * batch:(i + 1) * batch]
            scores = current @ prototypes.t()
            if fill:
                if self.queue[i, -1].any():  # full: used, as SwAV's use_the_queue
                    scores = torch.cat([self.queue[i] @ prototypes.t(), scores])
                self.queue[i] = torch.cat([current, self.queue[i, :-batch]])
            codes.append(
                distributed_sinkhorn(scores, self.sinkhorn_iterations, get_world_size(), self.epsilon)[-batch:])
        return codes

    def loss(self, scores: torch.Tensor, codes: List[torch.Tensor]) -> torch.Tensor:
        """The swapped-prediction loss of one network (pseudo-code lines 43-51).

        Args:
            scores: Its scores ``cat(scores, scores of the dropout views)``, 2 (2 + V) chunks of B rows, (2 (2 + V) B,
                K).
            codes: ``q_i`` of :meth:`codes`.

        Returns:
            The scalar loss.
        """
        batch = len(codes[0])
        log_p = torch.log_softmax(scores / self.temperature, dim=1).split(batch)
        loss = 0.
        for i, q in enumerate(codes):
            subloss = -sum((q * log_p[v]).sum(dim=1).mean() for v in range(len(log_p)) if v != i)
            loss = loss + subloss / (len(log_p) - 2) / 2
        return loss
