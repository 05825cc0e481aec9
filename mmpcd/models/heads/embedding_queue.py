from typing import Optional

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule

from mmselfsup.registry import MODELS
from mmselfsup.utils import concat_all_gather


@MODELS.register_module()
class EmbeddingQueue(BaseModule):
    """A MoCo-style queue of ℓ2-normalized embeddings, shared by PCD and its peers.

    The queue is a ring buffer of K columns: any number of keys a step (a
    short last batch included) is written after the previous ones, wrapping
    around; more than K keys in one step keep the last K. Keys are gathered
    from all processes first, so every process holds the same queue.

    Args:
        queue_len: Number of keys K. Defaults to 65536.
        feat_dim: Their dimension C. Defaults to 256.
        init_cfg: Initialization config.
    """

    def __init__(self, queue_len: int = 65536, feat_dim: int = 256, init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.queue_len = queue_len
        self.register_buffer('queue', F.normalize(torch.randn(feat_dim, queue_len), dim=0))
        self.register_buffer('queue_ptr', torch.zeros(1, dtype=torch.long))

    @torch.no_grad()
    def push(self, keys: torch.Tensor) -> None:
        """Enqueue the keys (N, C) of every process, rank 0's first."""
        keys = concat_all_gather(keys.float())
        end = int(self.queue_ptr) + keys.shape[0]  # written one after another: the last K keys survive
        kept = keys[-self.queue_len:]
        slots = torch.arange(end - kept.shape[0], end, device=keys.device) % self.queue_len
        self.queue[:, slots] = kept.t().to(self.queue.dtype)
        self.queue_ptr[0] = end % self.queue_len
