"""Linear probe on frozen, globally pooled features (the CPU distillation benchmark's evaluation)."""
from typing import Callable, Tuple

import torch
import torch.nn.functional as F

#: L2 penalties the probe chooses from by cross-validation on the labelled train split.
L2_GRID = (1e-4, 1e-3, 1e-2, 1e-1)


@torch.no_grad()
def pooled_features(feature_map: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor,
                    batch_size: int = 100) -> torch.Tensor:
    """Global-average-pooled maps of ``feature_map`` (images -> (N, C, h, w)), in batches: (N, C)."""
    return torch.cat(
        [feature_map(images[i:i + batch_size]).mean(dim=(2, 3)) for i in range(0, len(images), batch_size)])


def fit_logistic_regression(x: torch.Tensor, y: torch.Tensor, num_classes: int, l2: float,
                            dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Multinomial logistic regression (weights and bias, (C + 1, classes)) by full-batch L-BFGS, from zero.

    Minimizes ``mean cross-entropy + l2 * ||W||^2`` (the bias is not penalized) in ``dtype``; deterministic, and
    the same bits at 1 and 2 threads (tested).
    """
    x = torch.cat([x.to(dtype), x.new_ones(len(x), 1, dtype=dtype)], dim=1)
    weights = torch.zeros(x.shape[1], num_classes, dtype=dtype, requires_grad=True)
    optimizer = torch.optim.LBFGS([weights], lr=1, max_iter=500, tolerance_grad=1e-9, tolerance_change=1e-12,
                                  history_size=20, line_search_fn='strong_wolfe')

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = F.cross_entropy(x @ weights, y) + l2 * weights[:-1].pow(2).sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        optimizer.step(closure)
    return weights.detach()


def _top1(weights: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> float:
    logits = x.double() @ weights[:-1] + weights[-1]
    return 100.0 * (logits.argmax(dim=1) == y).double().mean().item()


def linear_probe(train_x: torch.Tensor, train_y: torch.Tensor, val_x: torch.Tensor, val_y: torch.Tensor,
                 folds: int = 5) -> Tuple[float, float]:
    """Top-1 (%) on the val split of a linear classifier trained on frozen train features.

    The features are standardized with the train split's statistics; the L2
    penalty is chosen from :data:`L2_GRID` by ``folds``-fold cross-validation
    on the train split alone (the val split is only scored once).

    Returns:
        ``(top1, l2)``: the val top-1 and the chosen penalty.
    """
    mean, std = train_x.mean(dim=0), train_x.std(dim=0).clamp_min(1e-6)
    train_x, val_x = (train_x - mean) / std, (val_x - mean) / std
    num_classes = int(train_y.max()) + 1
    fold_of = torch.arange(len(train_x)) % folds

    def cv_score(l2: float) -> float:
        return sum(
            _top1(fit_logistic_regression(train_x[fold_of != k], train_y[fold_of != k], num_classes, l2), train_x[
                fold_of == k], train_y[fold_of == k]) for k in range(folds)) / folds

    l2 = max(L2_GRID, key=cv_score)
    return _top1(fit_logistic_regression(train_x, train_y, num_classes, l2), val_x, val_y), l2
