"""Images for the analysis tools: a folder (or files) of images, loaded at a square size on the 0-255 scale."""
import argparse
import glob
import os.path as osp
from typing import Callable, List, Sequence

import torch

from ..datasets.image_lists import load_images

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp')


def list_images(sources: Sequence[str], limit: int = 0) -> List[str]:
    """The image files of ``sources`` (folders, searched recursively, sorted; or files), the first ``limit`` (0: all).

    Raises:
        FileNotFoundError: a source does not exist, or none holds an image.
    """
    paths = []
    for source in sources:
        if osp.isdir(source):
            paths += sorted(p for p in glob.glob(osp.join(source, '**', '*'), recursive=True)
                            if p.lower().endswith(IMAGE_EXTENSIONS))
        elif osp.isfile(source):
            paths.append(source)
        else:
            raise FileNotFoundError(f'image source {source} does not exist')
    if not paths:
        raise FileNotFoundError(f'no image ({", ".join(IMAGE_EXTENSIONS)}) in {list(sources)}')
    return paths[:limit] if limit else paths


def load_raw_images(paths: Sequence[str], size: int) -> torch.Tensor:
    """RGB images resized (bicubic) to ``size`` x ``size``, unnormalized (0-255): (N, 3, size, size)."""
    return load_images(paths, size, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0))


def whole_number(minimum: int, meaning: str) -> Callable[[str], int]:
    """An argparse ``type``: a whole number >= ``minimum``, or an error that argparse prints after the flag's name
    (``argument --size: ...``), saying what the value means."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum:
            raise argparse.ArgumentTypeError(f'{meaning} must be a whole number >= {minimum}, not {text!r}')
        return value

    return parse


def add_size_argument(parser: argparse.ArgumentParser, default: int) -> None:
    """``--size``: the input resolution, a whole number >= 1."""
    parser.add_argument('--size', type=whole_number(1, 'the input resolution (pixels, square)'), default=default,
                        help='input resolution (square)')


def add_image_arguments(parser: argparse.ArgumentParser, num_images: int) -> None:
    """``--images`` (folders or files), ``--num-images`` (default ``num_images``) and ``--size``."""
    parser.add_argument('--images', nargs='+', default=['data/coco_mini/val'], help='image folders or files')
    parser.add_argument('--num-images', type=whole_number(0, 'the number of images (0: all)'), default=num_images,
                        help='use the first N images (0: all)')
    add_size_argument(parser, 224)


def images_from_arguments(args: argparse.Namespace) -> torch.Tensor:
    """The images of ``--images`` / ``--num-images`` at ``--size``, unnormalized."""
    return load_raw_images(list_images(args.images, args.num_images), args.size)
