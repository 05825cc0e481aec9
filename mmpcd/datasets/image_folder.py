import os.path as osp
from typing import List

from mmengine.dataset import BaseDataset
from mmengine.fileio import list_from_file
from mmengine.utils import scandir

from mmselfsup.registry import DATASETS


@DATASETS.register_module()
class ImageFolder(BaseDataset):
    """Unlabelled images for self-supervised pre-training.

    Every image file under ``data_prefix['img_path']`` (recursively, sorted),
    or, when ``ann_file`` is given, the images it lists (one path relative
    to ``img_path`` a line; anything after the path, such as a label, is
    ignored, so ImageNet's ``meta/train.txt`` works). An empty or missing
    folder or list is an error that names it.

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
            if not osp.isfile(self.ann_file):
                raise FileNotFoundError(f'image list {self.ann_file} does not exist; fix ann_file or leave it '
                                        'empty to use every image under data_prefix.img_path')
            names = [line.split()[0] for line in list_from_file(self.ann_file) if line.strip()]
            where = f'the image list {self.ann_file}'
        else:
            if not osp.isdir(folder):
                raise FileNotFoundError(f'image folder {folder} does not exist; fix data_root / '
                                        'data_prefix.img_path in train_dataloader.dataset')
            names = sorted(scandir(folder, self.IMG_EXTENSIONS, recursive=True, case_sensitive=False))
            where = f'the folder {folder} (extensions {", ".join(self.IMG_EXTENSIONS)})'
        if not names:
            raise ValueError(f'no images in {where}: put images there or point train_dataloader.dataset at '
                             'a folder that has some')
        return [dict(img_path=osp.join(folder, name)) for name in names]
