"""Labelled image lists and images loaded whole at a square size: what the probes and the analysis tools read."""
import os
import os.path as osp
from typing import List, Sequence, Tuple

import numpy as np
import torch
from PIL import Image


def listed_image(root: str, name: str, list_file: str, number: int) -> str:
    """The image that line ``number`` of the image list ``list_file`` names as ``name``: ``name`` under ``root``.

    The path must stay under ``root``, as written (symbolic links are not
    followed: a root whose folders link elsewhere is fine).

    Raises:
        ValueError: ``name`` is absolute or climbs out of ``root`` with
            ``..``: a list from another machine or dataset would train or
            evaluate on images outside the data root.
    """
    path = osp.join(root, name)
    top = osp.abspath(root)
    if not osp.abspath(path).startswith(top.rstrip(os.sep) + os.sep):
        raise ValueError(f'{list_file}:{number}: the image {name!r} is outside the image root {top} (an absolute path, '
                         'or .. out of it). An image list names images relative to the root: write the path relative '
                         'to it, or move the root to a folder that holds every image of the list')
    return path


def read_labelled_list(list_file: str, image_root: str) -> Tuple[List[str], torch.Tensor]:
    """The images and labels of an ImageNet-style list (``relative/path label`` a line).

    Raises:
        FileNotFoundError: the list, or an image it names, does not exist.
        ValueError: a line has no integer label, names an image outside
            ``image_root`` (:func:`listed_image`), or the list names no image.
    """
    if not osp.isfile(list_file):
        raise FileNotFoundError(f'labelled image list {list_file} does not exist')
    paths, labels = [], []
    with open(list_file) as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            parts = line.split()
            if len(parts) != 2 or not parts[1].lstrip('-').isdigit():
                raise ValueError(f'{list_file}:{number}: expected "relative/path label", got {line.strip()!r}')
            path = listed_image(image_root, parts[0], list_file, number)
            if not osp.isfile(path):
                raise FileNotFoundError(f'{list_file}:{number} names {path}, which does not exist')
            paths.append(path)
            labels.append(int(parts[1]))
    if not paths:
        raise ValueError(f'labelled image list {list_file} names no image (it is empty or blank): write one '
                         f'"relative/path label" line per image of {image_root}')
    return paths, torch.tensor(labels)


def load_images(paths: Sequence[str], size: int, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """Images resized (bicubic) to ``size`` x ``size``, RGB, normalized with mean / std (0-255 scale): (N, 3, s, s)."""
    batch = np.stack([np.asarray(Image.open(p).convert('RGB').resize((size, size), Image.BICUBIC)) for p in paths])
    images = torch.from_numpy(batch).permute(0, 3, 1, 2).float()
    return (images - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
