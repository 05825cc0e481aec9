import os
import os.path as osp
from typing import List

from mmengine.dataset import BaseDataset
from mmengine.fileio import list_from_file
from mmengine.utils import scandir

from mmselfsup.registry import DATASETS
from .image_lists import listed_image


def image_path(line: str) -> str:
    """The image path of a line of an image list: the line, less a whole number after it (a label)."""
    fields = line.split()
    if len(fields) > 1 and fields[-1].lstrip('-').isdigit():
        return line.strip()[:-len(fields[-1])].rstrip()
    return line.strip()


def check_links(folder: str) -> None:
    """Refuse broken symbolic links under ``folder`` (found recursively), which a folder listing skips silently.

    Raises:
        FileNotFoundError: Naming the first links and their missing targets.
    """
    broken = [
        osp.join(root, name) for root, _, files in os.walk(folder, followlinks=True) for name in files
        if osp.islink(osp.join(root, name)) and not osp.exists(osp.join(root, name))
    ]
    if broken:
        shown = ', '.join(f'{link} -> {os.readlink(link)}' for link in sorted(broken)[:3])
        more = f' and {len(broken) - 3} more' if len(broken) > 3 else ''
        raise FileNotFoundError(f'{len(broken)} broken symbolic links in the image folder {folder}: {shown}{more} '
                                '(their targets do not exist). Mount or copy the images they point to, or remove '
                                'the links')


@DATASETS.register_module()
class ImageFolder(BaseDataset):
    """Unlabelled images for self-supervised pre-training.

    Every image file under ``data_prefix['img_path']`` (recursively, sorted),
    or, when ``ann_file`` is given, the images it lists (one path relative
    to ``img_path`` a line, which may hold spaces; a whole number after it,
    such as a label, is ignored, so ImageNet's ``meta/train.txt`` works; a
    UTF-8 byte-order mark is skipped). An empty or missing folder or list, a
    directory given as the list, a listed path outside the folder (absolute,
    or ``..`` out of it; the line is named) and broken symbolic links in the
    folder are errors that name them.

    Args:
        data_root: Root that ``ann_file`` and ``data_prefix`` are joined to.
        data_prefix: ``dict(img_path=...)``, the image folder.
        ann_file: Optional list file.
        **kwargs: Other :class:`mmengine.dataset.BaseDataset` arguments
            (``pipeline``, ``test_mode``...).
    """

    IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif', '.tiff', '.webp')

    def __init__(self, data_root: str = '', data_prefix: dict = dict(img_path=''), ann_file: str = '',
                 **kwargs) -> None:
        super().__init__(data_root=data_root, data_prefix=data_prefix, ann_file=ann_file, **kwargs)

    def load_data_list(self) -> List[dict]:
        """The image paths, each as ``dict(img_path=...)``."""
        folder = self.data_prefix['img_path']
        if self.ann_file:
            if osp.isdir(self.ann_file):
                raise IsADirectoryError(f'ann_file {self.ann_file} is a directory, not an image list (a text file, '
                                        'one image path a line); to use every image of a folder, set ann_file=\'\' '
                                        'and data_prefix.img_path to the folder')
            if not osp.isfile(self.ann_file):
                raise FileNotFoundError(f'image list {self.ann_file} does not exist; fix ann_file or leave it '
                                        'empty to use every image under data_prefix.img_path')
            paths = [
                listed_image(folder, image_path(line), self.ann_file, number)
                for number, line in enumerate(list_from_file(self.ann_file, encoding='utf-8-sig'), 1) if line.strip()
            ]
            where = f'the image list {self.ann_file}'
        else:
            if not osp.isdir(folder):
                raise FileNotFoundError(f'image folder {folder} does not exist; fix data_root / '
                                        'data_prefix.img_path in train_dataloader.dataset')
            check_links(folder)
            paths = [
                osp.join(folder, name)
                for name in sorted(scandir(folder, self.IMG_EXTENSIONS, recursive=True, case_sensitive=False))
            ]
            where = f'the folder {folder} (extensions {", ".join(self.IMG_EXTENSIONS)})'
        if not paths:
            raise ValueError(f'no images in {where}: put images there or point train_dataloader.dataset at '
                             'a folder that has some')
        return [dict(img_path=path) for path in paths]
