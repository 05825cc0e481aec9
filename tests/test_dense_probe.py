"""The dense probe's readouts against slow references on tiny synthetic maps, and its checks of label files."""
import math
import os.path as osp
import shutil

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from mmpcd.datasets.dense_labels import IGNORE, read_classes, read_label
from mmpcd.evaluation.dense_probe import (KnnReadout, broadcast_pooled, confusion_matrix, dense_probe, fit_knn_readout,
                                          fit_linear_readout, load_dense_split, patch_label_distributions,
                                          sample_pixels, segmentation_scores, upsampled, upsampled_at)
from mmpcd.paths import REPO_ROOT

PETS = osp.join(REPO_ROOT, 'data', 'pets_mini')
NUM_CLASSES = 4


def blob_labels(count: int, size: int = 16, seed: int = 0) -> list:
    """Label maps of four quadrant-like regions with shuffled classes and a few ignored pixels, balanced classes."""
    generator = torch.Generator().manual_seed(seed)
    labels = []
    for _ in range(count):
        classes = torch.randperm(NUM_CLASSES, generator=generator)
        label = torch.empty(size, size, dtype=torch.long)
        half = size // 2
        label[:half, :half], label[:half, half:], label[half:, :half], label[half:, half:] = classes
        label[torch.rand(size, size, generator=generator) < 0.05] = IGNORE
        labels.append(label)
    return labels


def one_hot_maps(labels: list) -> torch.Tensor:
    """Maps at the label size whose pixels are their label's one-hot vector (zeros where ignored)."""
    return torch.stack([
        F.one_hot(label.clamp_max(NUM_CLASSES), NUM_CLASSES + 1)[..., :NUM_CLASSES].permute(2, 0, 1).float()
        for label in labels
    ])


def test_scores_of_a_confusion_matrix_by_hand():
    label = torch.tensor([[0, 0, 1, IGNORE], [1, 2, 2, 2]])
    pred = torch.tensor([[0, 1, 1, 0], [1, 2, 0, 2]])
    confusion = confusion_matrix(pred, label, 4)
    assert confusion.tolist() == [[1, 1, 0, 0], [0, 2, 0, 0], [1, 0, 2, 0], [0, 0, 0, 0]]
    scores = segmentation_scores(confusion)
    # IoU: class 0: 1 / (2 + 2 - 1); class 1: 2 / (2 + 3 - 2); class 2: 2 / (3 + 2 - 2); class 3 absent: skipped
    assert scores['miou'] == pytest.approx(100 * (1 / 3 + 2 / 3 + 2 / 3) / 3)
    assert scores['pixel_acc'] == pytest.approx(100 * 5 / 7)


def test_a_map_carrying_the_label_gives_100_miou_with_both_readouts():
    train, val = blob_labels(30), blob_labels(10, seed=1)
    scores = dense_probe(one_hot_maps(train), train, one_hot_maps(val), val, NUM_CLASSES)
    for readout in ('linear', 'knn'):
        assert scores[readout]['miou'] == 100.0
        assert scores[readout]['pixel_acc'] == 100.0


def test_a_map_without_information_gives_chance():
    """Noise independent of the labels: no readout can beat a label-independent guess, whose pixel accuracy on these
    balanced classes is 25% and whose mIoU is at most that of uniform guessing, 1/7."""
    train, val = blob_labels(40), blob_labels(40, seed=1)
    generator = torch.Generator().manual_seed(2)
    noise = torch.randn(80, 8, 16, 16, generator=generator)
    scores = dense_probe(noise[:40], train, noise[40:], val, NUM_CLASSES)
    for readout in ('linear', 'knn'):
        assert scores[readout]['pixel_acc'] == pytest.approx(25.0, abs=3.0)
        assert scores[readout]['miou'] < 100 / 7 + 3.0


def test_broadcast_pooled_gives_every_pixel_its_images_mean():
    """The teacher row's image-level control: each pixel carries its image's mean feature, so pixels of one image are
    equal and a readout of them cannot place anything within the image."""
    features = torch.randn(3, 5, 4, 6, generator=torch.Generator().manual_seed(0))
    pooled = broadcast_pooled(features)
    assert pooled.shape == features.shape
    for n in range(3):
        for c in range(5):
            assert torch.allclose(pooled[n, c], features[n, c].mean().expand(4, 6))


def test_bilinear_upsampling_commutes_with_the_linear_readout():
    """What fitting on sampled upsampled features rests on: upsample(1x1 conv(map)) == 1x1 conv(upsample(map))."""
    train = blob_labels(12)
    features = F.avg_pool2d(one_hot_maps(train), 4) + 0.1 * torch.randn(12, 4, 4, 4)
    readout = fit_linear_readout(features, train, NUM_CLASSES, per_image=32)
    predicted = next(readout.predict(features[:1], [(13, 19)]))
    direct = readout.logits(upsampled(features[0], (13, 19))[None])[0]
    torch.testing.assert_close(predicted, direct, rtol=1e-5, atol=1e-5)


def test_features_at_sampled_pixels_are_the_upsampled_map():
    features = torch.randn(2, 5, 3, 4)
    labels = blob_labels(2, size=11)
    x, y, image = sample_pixels(features, labels, per_image=40)
    for i in range(2):
        full = upsampled(features[i], (11, 11)).flatten(1).T
        # every sampled vector is the upsampled map at some pixel of its label
        distance = torch.cdist(x[image == i], full, compute_mode='donot_use_mm_for_euclid_dist').min(dim=1).values
        assert distance.max() < 1e-5
    assert (y != IGNORE).all() and len(y) == 80


def test_upsampled_at_indices_equals_interpolate():
    features = torch.randn(3, 4, 5)
    full = upsampled(features, (13, 17)).flatten(1)
    where = torch.arange(13 * 17)
    torch.testing.assert_close(upsampled_at(features, (13, 17), where), full.T, rtol=1e-5, atol=1e-5)


def test_patch_label_distributions_against_a_loop():
    labels = blob_labels(3, size=10)
    grid = (3, 4)
    shares = patch_label_distributions(labels, grid, NUM_CLASSES)
    for n, label in enumerate(labels):
        for i in range(grid[0]):
            for j in range(grid[1]):
                rows = slice(math.floor(i * 10 / grid[0]), math.ceil((i + 1) * 10 / grid[0]))
                cols = slice(math.floor(j * 10 / grid[1]), math.ceil((j + 1) * 10 / grid[1]))
                cell = label[rows, cols].flatten()
                cell = cell[cell != IGNORE]
                expected = torch.bincount(cell, minlength=NUM_CLASSES).double() / len(cell)
                torch.testing.assert_close(shares[n, i, j], expected)


def test_knn_readout_against_a_slow_reference_and_deterministic():
    generator = torch.Generator().manual_seed(0)
    keys, values = torch.randn(50, 6, generator=generator), torch.rand(50, NUM_CLASSES, generator=generator)
    readout = KnnReadout(F.normalize(keys.double(), dim=1), values.double(), neighbours=5, temperature=0.1)
    queries = torch.randn(2, 6, 3, 2, generator=generator)
    out = readout.patch_scores(queries, chunk=4)
    for n in range(2):
        for i in range(3):
            for j in range(2):
                q = queries[n, :, i, j].double()
                cosine = [float(q @ k.double() / (q.norm() * k.double().norm())) for k in keys]
                nearest = sorted(range(50), key=lambda m: -cosine[m])[:5]
                weights = torch.tensor([math.exp(cosine[m] / 0.1) for m in nearest], dtype=torch.float64)
                weights /= weights.sum()
                expected = sum(w * values[m].double() for w, m in zip(weights, nearest))
                torch.testing.assert_close(out[n, :, i, j], expected)
    assert torch.equal(out, readout.patch_scores(queries))


def test_knn_bank_holds_only_patches_with_labelled_pixels():
    label = torch.full((4, 4), IGNORE)
    label[:2, :2] = 1
    bank = fit_knn_readout(torch.randn(1, 3, 2, 2), [label], NUM_CLASSES)
    assert bank.keys.shape == (1, 3)
    assert bank.values.tolist() == [[0.0, 1.0, 0.0, 0.0]]


def test_pets_mini_reads_with_its_classes():
    assert read_classes(PETS) == ['background', 'Abyssinian', 'american_bulldog', 'Bengal']
    split = load_dense_split(PETS, 'val', 32, (0, 0, 0), (1, 1, 1), 4)
    assert split.images.shape == (99, 3, 32, 32) and len(split.labels) == 99
    with Image.open(split.paths[0]) as image:
        assert split.labels[0].shape == image.size[::-1]
    assert set(torch.cat([label.unique() for label in split.labels]).tolist()) == {0, 1, 2, 3, IGNORE}


@pytest.fixture
def dense_copy(tmp_path):
    """A one-image copy of pets_mini's val split, to break."""
    root = tmp_path / 'pets'
    for sub in ('images', 'labels'):
        (root / 'val' / sub).mkdir(parents=True)
    shutil.copy(osp.join(PETS, 'val', 'images', 'Abyssinian_1.jpg'), root / 'val' / 'images')
    shutil.copy(osp.join(PETS, 'val', 'labels', 'Abyssinian_1.png'), root / 'val' / 'labels')
    shutil.copy(osp.join(PETS, 'classes.txt'), root)
    return root


def test_label_of_the_wrong_size_is_named(dense_copy):
    label = dense_copy / 'val' / 'labels' / 'Abyssinian_1.png'
    Image.fromarray(np.zeros((10, 12), np.uint8)).save(label)
    with pytest.raises(ValueError, match=f'label {label} is 12x10 but its image is 240x160'):
        load_dense_split(str(dense_copy), 'val', 32, (0, 0, 0), (1, 1, 1), 4)


def test_label_values_out_of_range_are_named(dense_copy):
    label = dense_copy / 'val' / 'labels' / 'Abyssinian_1.png'
    values = np.asarray(Image.open(label)).copy()
    values[0, :3] = [4, 7, 200]
    Image.fromarray(values).save(label)
    with pytest.raises(ValueError, match=rf'label {label} holds values \[4, 7, 200\]: expected 0..3'):
        read_label(str(label), (240, 160), 4)


def test_rgb_label_and_missing_label_are_named(dense_copy):
    label = dense_copy / 'val' / 'labels' / 'Abyssinian_1.png'
    Image.open(label).convert('RGB').save(label)
    with pytest.raises(ValueError, match=f'label {label} has mode RGB'):
        load_dense_split(str(dense_copy), 'val', 32, (0, 0, 0), (1, 1, 1), 4)
    label.unlink()
    with pytest.raises(FileNotFoundError, match=f'has no label: expected {label}'):
        load_dense_split(str(dense_copy), 'val', 32, (0, 0, 0), (1, 1, 1), 4)
