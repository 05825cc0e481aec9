"""Dense probes of frozen features: what a backbone's pixels know about a segmentation.

Two readouts of the same frozen map (N, C, h, w), scored as mIoU and pixel
accuracy against label maps at their own size (label 255 is ignored):

- :func:`linear_readout`: a linear per-pixel classifier, i.e. a 1x1 convolution
  on the map whose logits are upsampled bilinearly to the label size, trained
  with cross-entropy. Bilinear upsampling is linear and its weights sum to 1,
  so the upsampled logits equal the 1x1 convolution of the upsampled map: the
  classifier is fitted on the upsampled features at ``pixels_per_image``
  labelled pixels drawn per train image (a fixed subsample of the label-size
  loss), and its L2 penalty is chosen by cross-validation over train images
  alone.
- :func:`fit_knn_readout`: the training-free nearest-neighbour label transfer
  after Hummingbird (Balazevic et al., NeurIPS 2023): a memory bank of
  ℓ2-normalized train patch features with the label distribution of each
  patch's labelled pixels (255 left out); each val patch takes the
  softmax(cosine / 0.02)-weighted mean of the distributions of its 30 nearest
  bank patches (open-hummingbird-eval's ``_cross_attention``), upsampled
  bilinearly to the label size. Unlike open-hummingbird-eval's evaluation, the
  bank is made from clean resizes, 255 is not counted as background, and the
  mIoU has no Hungarian matching (docs/dense_benchmark.md, "Readouts").
"""
from typing import Callable, Dict, Iterator, List, NamedTuple, Sequence, Tuple

import torch
import torch.nn.functional as F
from PIL import Image

from ..datasets.dense_labels import IGNORE, dense_pairs, read_label
from ..datasets.image_lists import load_images
from .linear_probe import L2_GRID, fit_logistic_regression

#: Hummingbird's neighbours and softmax temperature (open-hummingbird-eval's defaults).
KNN_NEIGHBOURS, KNN_TEMPERATURE = 30, 0.02
#: Labelled pixels drawn per train image to fit the linear readout, and the cross-validation folds of its L2 penalty.
PIXELS_PER_IMAGE, FOLDS = 64, 3


class DenseSplit(NamedTuple):
    """One split of a dense data set: images resized for the backbone, labels at their own size."""
    images: torch.Tensor  # (N, 3, size, size), normalized
    labels: List[torch.Tensor]  # N long tensors (H_i, W_i), values in [0, num_classes) or IGNORE
    paths: List[str]


def load_dense_split(data_root: str, split: str, size: int, mean: Sequence[float], std: Sequence[float],
                     num_classes: int) -> DenseSplit:
    """The images of ``data_root/split/images/*.jpg`` and their labels ``split/labels/*.png``.

    Raises:
        FileNotFoundError: the folder is empty or missing, or an image has no label.
    """
    pairs = dense_pairs(data_root, split)
    labels = []
    for image_path, label_path in pairs:
        with Image.open(image_path) as image:
            labels.append(read_label(label_path, image.size, num_classes))
    paths = [image_path for image_path, _ in pairs]
    return DenseSplit(load_images(paths, size, mean, std), labels, paths)


@torch.no_grad()
def dense_features(feature_map: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor,
                   batch_size: int = 50) -> torch.Tensor:
    """The maps of ``feature_map`` for ``images``, in batches: (N, C, h, w)."""
    return torch.cat([feature_map(images[i:i + batch_size]) for i in range(0, len(images), batch_size)])


def broadcast_pooled(features: torch.Tensor) -> torch.Tensor:
    """Maps (N, C, h, w) global-average-pooled and copied to every pixel: what an image-level vector tells a pixel."""
    return features.mean(dim=(2, 3), keepdim=True).expand_as(features)


def confusion_matrix(pred: torch.Tensor, label: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Counts (true class, predicted class) over the pixels whose label is not :data:`IGNORE`."""
    keep = label != IGNORE
    index = label[keep] * num_classes + pred[keep]
    return torch.bincount(index, minlength=num_classes**2).view(num_classes, num_classes)


def segmentation_scores(confusion: torch.Tensor) -> Dict[str, object]:
    """mIoU and pixel accuracy (%) of a confusion matrix; classes absent from labels and predictions are skipped."""
    confusion = confusion.double()
    hits = confusion.diag()
    union = confusion.sum(0) + confusion.sum(1) - hits
    iou = hits / union.clamp_min(1)
    present = union > 0
    return dict(miou=100.0 * iou[present].mean().item(), pixel_acc=100.0 * (hits.sum() / confusion.sum()).item(),
                iou=(100.0 * iou).tolist())


def upsampled(map_: torch.Tensor, size: Tuple[int, int]) -> torch.Tensor:
    """A map (C, h, w) bilinearly upsampled to ``size`` (align_corners=False, as mmseg's resize): (C, H, W)."""
    return F.interpolate(map_[None].float(), size=size, mode='bilinear', align_corners=False)[0]


def score_predictions(predictions: Iterator[torch.Tensor], labels: Sequence[torch.Tensor],
                      num_classes: int) -> Dict[str, object]:
    """mIoU and pixel accuracy of class-score maps (K, H_i, W_i) against their labels."""
    confusion = sum(
        confusion_matrix(scores.argmax(0), label, num_classes) for scores, label in zip(predictions, labels))
    return segmentation_scores(confusion)


def upsampled_at(map_: torch.Tensor, size: Tuple[int, int], where: torch.Tensor) -> torch.Tensor:
    """``upsampled(map_, size)`` at the flat indices ``where`` of the (H, W) grid alone: (len(where), C).

    ``grid_sample`` at the pixel centres, (i + 0.5) / H of the map's extent,
    with border padding is the bilinear interpolation of ``F.interpolate``
    (align_corners=False, source coordinates clamped at the border).
    """
    height, width = size
    y, x = (where // width).float(), (where % width).float()
    grid = torch.stack([2 * (x + 0.5) / width - 1, 2 * (y + 0.5) / height - 1], dim=-1).view(1, 1, -1, 2)
    out = F.grid_sample(map_[None].float(), grid, mode='bilinear', padding_mode='border', align_corners=False)
    return out[0, :, 0].T


def sample_pixels(features: torch.Tensor, labels: Sequence[torch.Tensor], per_image: int,
                  seed: int = 0) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Upsampled features at ``per_image`` labelled pixels of each image (all of them where there are fewer).

    Returns:
        ``(x, y, image)``: features (M, C), labels (M,) and the image each came from (M,).
    """
    generator = torch.Generator().manual_seed(seed)
    xs, ys, images = [], [], []
    for i, (feature, label) in enumerate(zip(features, labels)):
        where = (label != IGNORE).flatten().nonzero()[:, 0]
        where = where[torch.randperm(len(where), generator=generator)[:per_image]]
        xs.append(upsampled_at(feature, label.shape, where))
        ys.append(label.flatten()[where])
        images.append(torch.full((len(where), ), i))
    return torch.cat(xs), torch.cat(ys), torch.cat(images)


class LinearReadout(NamedTuple):
    """A fitted per-pixel linear classifier on standardized features."""
    weights: torch.Tensor  # (C + 1, K), the bias last
    mean: torch.Tensor
    std: torch.Tensor
    l2: float

    def logits(self, features: torch.Tensor) -> torch.Tensor:
        """Class scores of every pixel of maps (N, C, h, w): (N, K, h, w)."""
        x = (features.to(self.weights.dtype).permute(0, 2, 3, 1) - self.mean) / self.std
        return (x @ self.weights[:-1] + self.weights[-1]).permute(0, 3, 1, 2)

    def predict(self, features: torch.Tensor, sizes: Sequence[Tuple[int, int]]) -> Iterator[torch.Tensor]:
        """Upsampled class scores (K, H_i, W_i) of each map."""
        return (upsampled(logits, size) for logits, size in zip(self.logits(features), sizes))


def _sampled_miou(weights: torch.Tensor, x: torch.Tensor, y: torch.Tensor, num_classes: int) -> float:
    pred = (x @ weights[:-1] + weights[-1]).argmax(1)
    return segmentation_scores(confusion_matrix(pred, y, num_classes))['miou']


def fit_linear_readout(features: torch.Tensor, labels: Sequence[torch.Tensor], num_classes: int,
                       per_image: int = PIXELS_PER_IMAGE, folds: int = FOLDS) -> LinearReadout:
    """The linear readout of train maps, its L2 penalty chosen from :data:`L2_GRID` by ``folds``-fold
    cross-validation over train images (the mIoU of the held-out images' sampled pixels); no val data is seen.

    Fitted in float32 (L-BFGS in float64 takes 3x as long for the same predictions on these sizes); the same bits at
    1 and 2 threads (tested).
    """
    x, y, image = sample_pixels(features.float(), labels, per_image)
    mean, std = x.mean(0), x.std(0).clamp_min(1e-6)
    x = (x - mean) / std
    fold_of = image % folds

    def fit(rows: torch.Tensor, l2: float) -> torch.Tensor:
        return fit_logistic_regression(x[rows], y[rows], num_classes, l2, dtype=torch.float32)

    def cv_miou(l2: float) -> float:
        return sum(
            _sampled_miou(fit(fold_of != k, l2), x[fold_of == k], y[fold_of == k], num_classes)
            for k in range(folds)) / folds

    l2 = max(L2_GRID, key=cv_miou)
    return LinearReadout(fit(torch.ones_like(y, dtype=torch.bool), l2), mean, std, l2)


def patch_label_distributions(labels: Sequence[torch.Tensor], grid: Tuple[int, int], num_classes: int) -> torch.Tensor:
    """The share of each class among the labelled pixels under each cell of a ``grid`` (h, w) laid over each label
    map: (N, h, w, K); a cell without labelled pixels is all zeros."""
    shares = []
    for label in labels:
        one_hot = F.one_hot(label.clamp_max(num_classes), num_classes + 1)[..., :num_classes]  # IGNORE -> zeros
        counts = F.adaptive_avg_pool2d(one_hot.permute(2, 0, 1).double()[None], grid)[0].permute(1, 2, 0)
        shares.append(counts / counts.sum(-1, keepdim=True).clamp_min(1e-12))
    return torch.stack(shares)


class KnnReadout(NamedTuple):
    """Hummingbird's memory bank: ℓ2-normalized train patch features and their label distributions."""
    keys: torch.Tensor  # (M, C)
    values: torch.Tensor  # (M, K)
    neighbours: int = KNN_NEIGHBOURS
    temperature: float = KNN_TEMPERATURE

    def patch_scores(self, features: torch.Tensor, chunk: int = 4096) -> torch.Tensor:
        """The attention-weighted label distribution of every patch of maps (N, C, h, w): (N, K, h, w)."""
        n, c, h, w = features.shape
        queries = F.normalize(features.double().permute(0, 2, 3, 1).reshape(-1, c), dim=1)
        out = []
        for start in range(0, len(queries), chunk):
            similarity = queries[start:start + chunk] @ self.keys.T
            top, index = similarity.topk(min(self.neighbours, len(self.keys)), dim=1)
            attention = F.softmax(top / self.temperature, dim=1)
            out.append(torch.einsum('qn,qnk->qk', attention, self.values[index]))
        return torch.cat(out).view(n, h, w, -1).permute(0, 3, 1, 2)

    def predict(self, features: torch.Tensor, sizes: Sequence[Tuple[int, int]]) -> Iterator[torch.Tensor]:
        """Upsampled class scores (K, H_i, W_i) of each map."""
        return (upsampled(scores, size) for scores, size in zip(self.patch_scores(features), sizes))


def fit_knn_readout(features: torch.Tensor, labels: Sequence[torch.Tensor], num_classes: int) -> KnnReadout:
    """The memory bank of train maps (N, C, h, w): every patch with at least one labelled pixel."""
    n, c, h, w = features.shape
    values = patch_label_distributions(labels, (h, w), num_classes).reshape(-1, num_classes)
    keys = F.normalize(features.double().permute(0, 2, 3, 1).reshape(-1, c), dim=1)
    labelled = values.sum(1) > 0
    return KnnReadout(keys[labelled], values[labelled])


def dense_probe(train_features: torch.Tensor, train_labels: Sequence[torch.Tensor], val_features: torch.Tensor,
                val_labels: Sequence[torch.Tensor], num_classes: int, predict: Sequence[int] = (),
                pixels_per_image: int = PIXELS_PER_IMAGE) -> Dict[str, Dict[str, object]]:
    """Both readouts fitted on the train maps and scored on the val maps.

    Args:
        train_features, val_features: Maps (N, C, h, w).
        train_labels, val_labels: Label maps (H_i, W_i) of the same images.
        num_classes: Number of classes.
        predict: Val images whose linear-readout label maps to return.
        pixels_per_image: Labelled pixels an image of the linear readout's fit.

    Returns:
        ``{'linear': scores, 'knn': scores}``, each with ``miou``, ``pixel_acc`` and per-class ``iou`` (%);
        ``linear`` also has the chosen ``l2`` and, for ``predict``, ``predictions``: uint8 label maps.
    """
    sizes = [label.shape for label in val_labels]
    linear = fit_linear_readout(train_features, train_labels, num_classes, pixels_per_image)
    knn = fit_knn_readout(train_features, train_labels, num_classes)
    chosen = [linear.predict(val_features[i:i + 1], [sizes[i]]) for i in predict]
    return dict(
        linear=dict(**score_predictions(linear.predict(val_features, sizes), val_labels, num_classes), l2=linear.l2,
                    predictions=[next(p).argmax(0).byte().numpy() for p in chosen]),
        knn=score_predictions(knn.predict(val_features, sizes), val_labels, num_classes))
