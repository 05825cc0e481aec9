"""RankMe: the effective rank of a set of embeddings, a label-free sign of dimensional collapse."""
import torch


def rankme(features: torch.Tensor, eps: float = 1e-7) -> float:
    """RankMe of Garrido et al. (ICML 2023), their eq. (1): exp of the entropy of the singular values of the embedding
    matrix ``Z``, each divided by their sum, ``exp(-sum_k p_k log p_k)`` with ``p_k = sigma_k / ||sigma||_1 + eps``.

    ``Z`` is taken as it is, not centred, as in the paper. It lies between about 1 (every embedding on one line) and
    ``min(N, D)`` (singular values all equal); the paper compares it between runs of one method, not across methods.

    Args:
        features: ``Z``, one embedding per row (N, D).
        eps: The paper's small constant against log 0 (its value is not given there; 1e-7 is this project's).
    """
    sigma = torch.linalg.svdvals(features.double())
    p = sigma / sigma.sum() + eps
    return torch.exp(-(p * p.log()).sum()).item()
