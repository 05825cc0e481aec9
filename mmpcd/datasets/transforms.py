"""Image loading for the pre-training pipeline."""
import os.path as osp
from typing import Optional

from mmcv.transforms import LoadImageFromFile

from mmselfsup.registry import TRANSFORMS


class BadImageError(ValueError):
    """An image file that is empty or cannot be decoded."""


@TRANSFORMS.register_module()
class LoadImageFromFileChecked(LoadImageFromFile):
    """mmcv's ``LoadImageFromFile`` whose failure names the file and the reason.

    mmcv's transform fails inside OpenCV without the path on an empty file,
    and with a bare assertion on an undecodable one. Here both raise
    :class:`BadImageError` with the path, ``empty file (0 bytes)`` or
    ``cannot be decoded as an image``, and the fix. A missing or unreadable file stays the ``OSError`` that names it.
    Arguments are ``LoadImageFromFile``'s; ``ignore_empty=True`` still
    skips missing and empty files as in mmcv (the dataset then fetches
    another image).
    """

    def transform(self, results: dict) -> Optional[dict]:
        """Load ``results['img_path']`` like ``LoadImageFromFile``.

        Raises:
            BadImageError: The file is empty or is not a decodable image.
        """
        path = results['img_path']
        try:
            return super().transform(results)
        except Exception as err:
            if isinstance(err, OSError) and err.filename is not None:
                raise  # a missing or unreadable file: the error names it
            raise self._bad(path) from err

    @staticmethod
    def _bad(path: str) -> BadImageError:
        reason = 'empty file (0 bytes)' if osp.isfile(path) and osp.getsize(path) == 0 else \
            'cannot be decoded as an image (truncated, corrupt or not an image file)'
        return BadImageError(f'bad image file {path}: {reason}. Replace it with a good copy, or remove it from the '
                             'image folder and from the dataset\'s image list (ann_file)')
