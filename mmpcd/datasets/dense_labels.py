"""Dense data sets laid out as ``data/pets_mini``: ``classes.txt`` (one class name a line, the line index is the
label value) and, per split, ``{split}/images/*.jpg`` with ``{split}/labels/*.png`` of the same stem, one class id a
pixel, :data:`IGNORE` where no class is given."""
import os
import os.path as osp
from typing import List, Tuple

import numpy as np
import torch
from PIL import Image

#: The label value of pixels without a class (pets_mini: the trimap's border band); losses and metrics skip it.
IGNORE = 255
IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png')


def read_classes(data_root: str) -> List[str]:
    """The class names of ``data_root/classes.txt`` (one a line, the line index is the label)."""
    path = osp.join(data_root, 'classes.txt')
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path} does not exist: a dense data set needs classes.txt, one class name a line, '
                                'the line index being the label value')
    with open(path) as f:
        return [line.strip() for line in f if line.strip()]


def dense_pairs(data_root: str, split: str) -> List[Tuple[str, str]]:
    """``(image, label)`` paths of ``data_root/split/images/*`` and ``split/labels/*.png``, sorted by name.

    Raises:
        FileNotFoundError: the folder is empty or missing, or an image has no label.
    """
    image_dir, label_dir = osp.join(data_root, split, 'images'), osp.join(data_root, split, 'labels')
    names = sorted(n for n in os.listdir(image_dir)
                   if n.lower().endswith(IMAGE_EXTENSIONS)) if osp.isdir(image_dir) else []
    if not names:
        raise FileNotFoundError(f'no images in {image_dir}: a dense split is {split}/images/*.jpg with '
                                f'{split}/labels/*.png of the same stem')
    pairs = []
    for name in names:
        image_path = osp.join(image_dir, name)
        label_path = osp.join(label_dir, osp.splitext(name)[0] + '.png')
        if not osp.isfile(label_path):
            raise FileNotFoundError(f'image {image_path} has no label: expected {label_path}')
        pairs.append((image_path, label_path))
    return pairs


def read_label(path: str, image_size: Tuple[int, int], num_classes: int) -> torch.Tensor:
    """A label PNG as a long tensor (H, W), checked against its image.

    Args:
        path: The PNG, one class id a pixel (mode ``L`` or ``P``).
        image_size: ``(width, height)`` of its image.
        num_classes: Valid ids are ``0 .. num_classes - 1`` and :data:`IGNORE`.

    Raises:
        ValueError: the label is not single-channel, not the image's size, or holds other values.
    """
    label = Image.open(path)
    if label.mode not in ('L', 'P'):
        raise ValueError(f'label {path} has mode {label.mode}: expected a single-channel PNG of class ids (mode L or '
                         'P); convert it, e.g. PIL Image.convert("L") of an id map')
    if label.size != image_size:
        raise ValueError(f'label {path} is {label.size[0]}x{label.size[1]} but its image is '
                         f'{image_size[0]}x{image_size[1]}: labels must have their image\'s size')
    values = np.asarray(label)
    bad = np.setdiff1d(np.unique(values), [*range(num_classes), IGNORE])
    if bad.size:
        raise ValueError(f'label {path} holds values {bad.tolist()}: expected 0..{num_classes - 1} (classes.txt) '
                         f'or {IGNORE} (ignored)')
    return torch.from_numpy(values.astype(np.int64))
