"""The weighted k-NN classifier against a slow loop written from DINO's definition (knn_classifier in eval_knn.py)."""
import math

import pytest
import torch

from mmpcd.evaluation.knn import KNN_NEIGHBOURS, KNN_TEMPERATURE, knn_predict, knn_top1


def reference_predict(train_x, train_y, query_x, k, temperature):
    """Per query: cosine to every train feature, the k most similar, exp(cosine / T) summed per class, the largest."""
    predictions = []
    for q in query_x.tolist():
        similarities = []
        for x in train_x.tolist():
            dot = sum(a * b for a, b in zip(q, x))
            similarities.append(dot / math.sqrt(sum(a * a for a in q)) / math.sqrt(sum(b * b for b in x)))
        nearest = sorted(range(len(similarities)), key=lambda i: -similarities[i])[:k]
        votes = {}
        for i in nearest:
            label = int(train_y[i])
            votes[label] = votes.get(label, 0.0) + math.exp(similarities[i] / temperature)
        predictions.append(max(votes, key=votes.get))
    return torch.tensor(predictions)


@pytest.mark.parametrize('k, temperature', [(KNN_NEIGHBOURS, KNN_TEMPERATURE), (5, 0.5), (200, 1.0)])
def test_knn_predict_matches_the_definition(k, temperature):
    generator = torch.Generator().manual_seed(0)
    centres = torch.randn(4, 16, generator=generator, dtype=torch.float64)
    train_y = torch.randint(0, 4, (120, ), generator=generator)
    train_x = centres[train_y] + 1.5 * torch.randn(120, 16, generator=generator, dtype=torch.float64)
    train_x[::7] *= 10  # scale does not matter: cosine similarity
    query_x = centres[torch.arange(30) % 4] + 1.5 * torch.randn(30, 16, generator=generator, dtype=torch.float64)
    query_x[::3] *= 0.05  # nor the query's: its norm would change the weights
    expected = reference_predict(train_x, train_y, query_x, k, temperature)
    assert torch.equal(knn_predict(train_x, train_y, query_x, k, temperature, chunk=7), expected)


def test_weights_not_counts_decide():
    """Two far neighbours of class 0 against one near neighbour of class 1: the near one wins at a low temperature,
    the majority at a high one."""
    train_x = torch.tensor([[1.0, 0.0], [0.6, 0.8], [0.6, -0.8]])
    train_y = torch.tensor([1, 0, 0])
    query = torch.tensor([[1.0, 0.0]])
    assert knn_predict(train_x, train_y, query, 3, 0.07).tolist() == [1]
    assert knn_predict(train_x, train_y, query, 3, 10.0).tolist() == [0]


def test_knn_top1_is_the_share_of_correct_predictions():
    train_x = torch.eye(3)
    train_y = torch.tensor([0, 1, 2])
    val_x = torch.tensor([[1.0, 0.1, 0.0], [0.0, 1.0, 0.1], [0.1, 0.0, 1.0], [1.0, 0.0, 0.0]])
    assert knn_top1(train_x, train_y, val_x, torch.tensor([0, 1, 0, 0]), neighbours=1) == 75.0
