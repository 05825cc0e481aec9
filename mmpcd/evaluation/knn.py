"""Weighted k-NN classification of frozen pooled features, as DINO's k-NN evaluation.

DINO's ``knn_classifier`` (facebookresearch/dino, eval_knn.py; solo-learn's
``WeightedKNNClassifier`` has the same defaults): the features of the train bank and of
the queries are ℓ2-normalized, each query takes its ``k`` most cosine-similar
train features, each neighbour votes for its class with the weight
``exp(similarity / T)``, and the class with the largest summed weight is the
prediction.
"""
import torch
import torch.nn.functional as F

#: DINO's defaults: 20 neighbours ("usually working the best") and the voting temperature.
KNN_NEIGHBOURS, KNN_TEMPERATURE = 20, 0.07


@torch.no_grad()
def knn_predict(train_x: torch.Tensor, train_y: torch.Tensor, query_x: torch.Tensor, neighbours: int = KNN_NEIGHBOURS,
                temperature: float = KNN_TEMPERATURE, chunk: int = 1024) -> torch.Tensor:
    """The weighted k-NN class of each query.

    Args:
        train_x: Train features (N, C).
        train_y: Their labels (N, ), values ``0 .. K - 1``.
        query_x: Query features (M, C).
        neighbours: k; all train features vote where there are fewer.
        temperature: T of the weights ``exp(cosine / T)``.
        chunk: Queries compared with the bank at once (bounds the (chunk, N) similarity matrix).

    Returns:
        The predicted labels (M, ).
    """
    keys = F.normalize(train_x, dim=1)
    num_classes = int(train_y.max()) + 1
    predictions = []
    for start in range(0, len(query_x), chunk):
        similarity = F.normalize(query_x[start:start + chunk], dim=1) @ keys.T
        top, index = similarity.topk(min(neighbours, len(keys)), dim=1)
        votes = torch.zeros(len(top), num_classes, dtype=top.dtype, device=top.device)
        votes.scatter_add_(1, train_y.to(index.device)[index], (top / temperature).exp())
        predictions.append(votes.argmax(dim=1))
    return torch.cat(predictions)


def knn_top1(train_x: torch.Tensor, train_y: torch.Tensor, val_x: torch.Tensor, val_y: torch.Tensor,
             neighbours: int = KNN_NEIGHBOURS, temperature: float = KNN_TEMPERATURE) -> float:
    """Top-1 (%) on the val split of the weighted k-NN classifier of the train bank (:func:`knn_predict`)."""
    predictions = knn_predict(train_x, train_y, val_x, neighbours, temperature)
    return 100.0 * (predictions.cpu() == val_y.cpu()).double().mean().item()
