"""Instance annotations in COCO's format from the label maps of a dense data set (:mod:`.dense_labels`'s layout),
for mmdet's detection and instance segmentation (``tools/dataset_converters/label_maps_to_coco.py``).

Each image holds one object, as in Oxford-IIIT Pet: its category is the one foreground class of the image's label
map, its mask the pixels of that class together with the :data:`~.dense_labels.IGNORE` band, its box the mask's
extent. The band is the trimap's "not classified" border, drawn by the annotators along the pet's outline: it holds
the ears' tips, the fur's edge and the whiskers, and the true outline runs inside it. COCO's evaluation has no pixel
to ignore in an instance mask, so the band must be inside or outside: inside, the box encloses the whole animal (as
COCO's boxes enclose the whole object) and no part of the pet counts as background; outside, every box would cut
through the animal's edge. The semantic segmentation of the same data ignores the band (mmseg's ``ignore_index``),
so the two tasks do not contradict each other.
"""
import json
import os.path as osp
from typing import Dict, List, Optional, Tuple

import numpy as np
import pycocotools.mask as mask_utils
from PIL import Image

from ..fileio import atomic_write
from .dense_labels import IGNORE, dense_pairs, read_classes, read_label


def object_mask(label: np.ndarray, label_path: str, classes: List[str]) -> Tuple[int, np.ndarray]:
    """The one object of a label map: ``(class id, mask)``, the mask its class's pixels and the ignore band.

    Raises:
        ValueError: naming ``label_path``, when the map holds no foreground
            class or more than one (an image must show one object).
    """
    present = [c for c in np.unique(label).tolist() if c not in (0, IGNORE)]
    if len(present) != 1:
        found = ', '.join(f'{c} ({classes[c]})' for c in present) or 'none'
        raise ValueError(f'label {label_path} holds foreground classes {found}: expected exactly one (one object an '
                         f'image, class ids 1..{len(classes) - 1} of classes.txt, 0 background, {IGNORE} the border)')
    return present[0], (label == present[0]) | (label == IGNORE)


def label_maps_to_coco(data_root: str, split: str, classes: Optional[List[str]] = None) -> Dict:
    """The COCO instances dict of ``data_root/split``: images, one annotation each (RLE mask, box, area), and the
    foreground classes of ``classes.txt`` as categories (id = label value; 0, the background, is none).

    Args:
        data_root: A dense data set (``classes.txt``, ``{split}/images``, ``{split}/labels``).
        split: The split's folder.
        classes: The class names, index = label value (default: ``data_root/classes.txt``).

    Raises:
        ValueError: a label map has another size than its image, values
            outside the classes and :data:`IGNORE`, or not one foreground
            class; the message names the file.
        FileNotFoundError: the split has no image, or an image no label.
    """
    classes = classes or read_classes(data_root)
    images, annotations = [], []
    for image_id, (image_path, label_path) in enumerate(dense_pairs(data_root, split), 1):
        with Image.open(image_path) as image:
            width, height = image.size
        label = read_label(label_path, (width, height), len(classes)).numpy()
        category, mask = object_mask(label, label_path, classes)
        rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
        images.append(dict(id=image_id, file_name=osp.relpath(image_path, data_root), width=width, height=height))
        annotations.append(
            dict(id=image_id, image_id=image_id, category_id=category, iscrowd=0, area=float(mask_utils.area(rle)),
                 bbox=[float(v) for v in mask_utils.toBbox(rle)],
                 segmentation=dict(size=[int(s) for s in rle['size']], counts=rle['counts'].decode('ascii'))))
    categories = [dict(id=i, name=name) for i, name in enumerate(classes) if i]
    return dict(images=images, annotations=annotations, categories=categories)


def write_coco(coco: Dict, path: str) -> None:
    """``coco`` as json at ``path``, written all at once, compact (the same data give the same bytes)."""
    with atomic_write(path, 'w') as f:
        json.dump(coco, f, separators=(',', ':'))
        f.write('\n')
