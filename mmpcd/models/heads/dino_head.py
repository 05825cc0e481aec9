from typing import Optional

import torch
from mmengine.dist import all_reduce, get_world_size
from mmengine.model import BaseModule

from mmselfsup.registry import MODELS


def teacher_temperature(epoch: int, warmup_temp: float, temp: float, warmup_epochs: int) -> float:
    """DINO's teacher temperature at ``epoch``: linear from ``warmup_temp`` to ``temp`` over ``warmup_epochs``
    epochs (``np.linspace(warmup_temp, temp, warmup_epochs)[epoch]``), then ``temp`` (facebookresearch/dino
    ``main_dino.py``, ``DINOLoss.teacher_temp_schedule``)."""
    if epoch >= warmup_epochs:
        return temp
    return warmup_temp + (temp - warmup_temp) * epoch / max(warmup_epochs - 1, 1)


@MODELS.register_module()
class DINOHead(BaseModule):
    """DINO's loss (Caron et al., 2021, eq. 3 and Sec. 3.1) with SSLight's re-balancing (Tan et al., 2023, eq. 3).

    The teacher's outputs of the global views are centred (``c``, an EMA of the batch mean, momentum
    ``center_momentum``) and sharpened (``teacher_temp``, set each epoch by :class:`~mmpcd.engine.hooks.DINOHook`);
    every student view predicts every teacher view but its own, ``H(P_t, P_s) = -Σ P_t log P_s``. The pairs split
    into global-global (``L_g``, ``P_gg = N_g (N_g - 1)`` pairs) and global-local (``L_l``, ``P_gl = N_g N_l``):

    * ``global_weight=None``: DINO's mean over all pairs, ``(L_g + L_l) / (P_gg + P_gl)`` (SSLight eq. 2);
    * ``global_weight=α``: ``α L_g / P_gg + (1 - α) L_l / P_gl`` (SSLight eq. 3, Sec. 3.3.4); eq. 2 is the
      special case α = P_gg / (P_gg + P_gl) (1/7 with 2 + 6 views).

    Args:
        out_channels: K, the width of the projection's output (the centre's width).
        num_global_views: N_g, the first views of the batch, the only ones the teacher sees.
        student_temp: The student's temperature.
        teacher_temp: The teacher's temperature before the hook sets it.
        center_momentum: Momentum of the centre's EMA.
        global_weight: α of SSLight eq. 3, or None for DINO's plain mean.
    """

    def __init__(self, out_channels: int, num_global_views: int = 2, student_temp: float = 0.1,
                 teacher_temp: float = 0.04, center_momentum: float = 0.9,
                 global_weight: Optional[float] = None) -> None:
        super().__init__()
        if global_weight is not None and not 0. <= global_weight <= 1.:
            raise ValueError(f'global_weight (SSLight α) must lie in [0, 1] or be None; got {global_weight}')
        self.num_global_views = num_global_views
        self.student_temp = student_temp
        self.teacher_temp = teacher_temp
        self.center_momentum = center_momentum
        self.global_weight = global_weight
        self.register_buffer('center', torch.zeros(1, out_channels))

    def loss(self, student_out: torch.Tensor, teacher_out: torch.Tensor) -> torch.Tensor:
        """The loss of a batch, then the centre update.

        Args:
            student_out: The student's outputs of all views, view after view, (V B, K).
            teacher_out: The teacher's outputs of the global views, (N_g B, K).

        Returns:
            The scalar loss.
        """
        batch = len(teacher_out) // self.num_global_views
        log_p = torch.log_softmax(student_out / self.student_temp, dim=-1).split(batch)
        targets = torch.softmax((teacher_out - self.center) / self.teacher_temp, dim=-1).detach().split(batch)
        pairs = {True: [], False: []}  # global-global?: cross-entropies
        for t, target in enumerate(targets):
            for v, prediction in enumerate(log_p):
                if v != t:
                    pairs[v < self.num_global_views].append(-(target * prediction).sum(-1).mean())
        if self.global_weight is None or not pairs[False]:
            loss = sum(pairs[True] + pairs[False]) / (len(pairs[True]) + len(pairs[False]))
        else:
            loss = (self.global_weight * sum(pairs[True]) / len(pairs[True]) +
                    (1 - self.global_weight) * sum(pairs[False]) / len(pairs[False]))
        self.update_center(teacher_out)
        return loss

    @torch.no_grad()
    def update_center(self, teacher_out: torch.Tensor) -> None:
        """``c <- m c + (1 - m) mean(teacher outputs)``, the mean over every process's batch (DINO eq. 4)."""
        batch_sum = teacher_out.sum(dim=0, keepdim=True)
        all_reduce(batch_sum)
        batch_center = batch_sum / (len(teacher_out) * get_world_size())
        self.center.mul_(self.center_momentum).add_(batch_center, alpha=1 - self.center_momentum)
