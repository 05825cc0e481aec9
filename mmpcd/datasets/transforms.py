"""Image loading for the pre-training pipeline."""
import contextlib
import os
import os.path as osp
import sys
import tempfile
import warnings
from typing import IO, Dict, Iterator, List, Optional

from mmcv.transforms import LoadImageFromFile

from mmselfsup.registry import TRANSFORMS

#: OpenCV refuses to decode an image of more pixels than this (its default; the environment variable
#: ``OPENCV_IO_MAX_IMAGE_PIXELS``, read when OpenCV loads, changes it).
OPENCV_MAX_PIXELS = 1 << 30
#: What ``LoadImageFromFileChecked`` does with an image its decoder reports as corrupt but decodes.
ON_CORRUPT = ('warn', 'error')


class BadImageError(ValueError):
    """An image file that is empty or cannot be decoded."""


class CorruptImageWarning(UserWarning):
    """An image file whose decoder reported corrupt data but returned an image (possibly partly gray or garbled)."""


_CAPTURE: Dict[int, IO[bytes]] = {}  # per process: the file that takes the native stderr during a decode


@contextlib.contextmanager
def native_stderr() -> Iterator[List[str]]:
    """Collect what native code writes to file descriptor 2 while the block runs (libjpeg's ``Corrupt JPEG data``
    warnings, OpenCV's log lines), instead of letting it reach the terminal without saying which file it concerns.

    Yields a list that holds the text once the block has finished. Anything else written to the descriptor
    meanwhile (another thread's stderr) is collected too: it is then reported with the decoder's text, not lost.
    """
    capture = _CAPTURE.get(os.getpid())
    if capture is None:  # one file per process: forked data loader workers must not share one
        capture = _CAPTURE[os.getpid()] = tempfile.TemporaryFile()
    text: List[str] = []
    sys.stderr.flush()
    saved = os.dup(2)
    capture.seek(0)
    capture.truncate()
    os.dup2(capture.fileno(), 2)
    try:
        yield text
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        capture.seek(0)
        text.append(capture.read().decode(errors='replace').strip())


@TRANSFORMS.register_module()
class LoadImageFromFileChecked(LoadImageFromFile):
    """mmcv's ``LoadImageFromFile`` whose failures and decoder warnings name the file, the reason and the fix.

    mmcv's transform fails inside OpenCV without the path on an empty file, with a bare assertion on an undecodable
    one, and with OpenCV's ``pixels <= CV_IO_MAX_IMAGE_PIXELS`` on an image of more than 2^30 pixels; it trains
    silently on a JPEG that libjpeg decodes with a warning (``Corrupt JPEG data: ...`` on stderr, naming no file).
    Here the failures raise :class:`BadImageError` with the path, ``empty file (0 bytes)``, ``more pixels than
    OpenCV decodes`` or ``cannot be decoded as an image``, and the fix; an image the decoder reports as corrupt but
    decodes gives a :class:`CorruptImageWarning` naming the file and quoting the decoder (``on_corrupt='warn'``,
    the default: such files occur in real data sets, ImageNet's included, and are mostly usable), or a
    :class:`BadImageError` (``on_corrupt='error'``). A missing or unreadable file stays the ``OSError`` that names
    it. The decoder's warnings are seen with the OpenCV backend (``imdecode_backend='cv2'``, the default); Pillow
    does not report them. ``ignore_empty=True`` still skips missing and empty files as in mmcv (the dataset then
    fetches another image).

    Args:
        to_float32, color_type, imdecode_backend, file_client_args, ignore_empty, backend_args: ``LoadImageFromFile``'s.
        on_corrupt: ``'warn'`` or ``'error'`` (:data:`ON_CORRUPT`).
    """

    def __init__(self, to_float32: bool = False, color_type: str = 'color', imdecode_backend: str = 'cv2',
                 file_client_args: Optional[dict] = None, ignore_empty: bool = False, *,
                 backend_args: Optional[dict] = None, on_corrupt: str = 'warn') -> None:
        if on_corrupt not in ON_CORRUPT:
            raise ValueError(f'LoadImageFromFileChecked: on_corrupt must be one of {ON_CORRUPT}, got {on_corrupt!r}')
        super().__init__(to_float32, color_type, imdecode_backend, file_client_args, ignore_empty,
                         backend_args=backend_args)
        self.on_corrupt = on_corrupt

    def transform(self, results: dict) -> Optional[dict]:
        """Load ``results['img_path']`` like ``LoadImageFromFile``.

        Raises:
            BadImageError: The file is empty, too large for OpenCV or not a decodable image, or (``on_corrupt=
                'error'``) its decoder reported corrupt data.
        """
        path = results['img_path']
        try:
            with native_stderr() as printed:
                loaded = super().transform(results)
        except Exception as err:
            if isinstance(err, OSError) and err.filename is not None:
                raise  # a missing or unreadable file: the error names it
            raise self._bad(path, str(err), printed[0]) from err
        if printed[0] and loaded is not None:
            message = (f'image file {path} is corrupt: its decoder reported "{printed[0]}" and decoded it anyway, '
                       'possibly with gray or garbled parts. Replace it with a good copy, or remove it from the '
                       "image folder and from the dataset's image list (ann_file)")
            if self.on_corrupt == 'error':
                raise BadImageError(f'bad {message}')
            warnings.warn(f'{message}; LoadImageFromFileChecked(on_corrupt="error") refuses such files',
                          CorruptImageWarning)
        return loaded

    @staticmethod
    def _bad(path: str, error: str, printed: str) -> BadImageError:
        """The error of an image that could not be loaded: what went wrong (mmcv's ``error``, the decoder's
        ``printed`` warnings) and the fix."""
        fix = ("Replace it with a good copy, or remove it from the image folder and from the dataset's image list "
               '(ann_file)')
        if osp.isfile(path) and osp.getsize(path) == 0:
            reason = 'empty file (0 bytes)'
        elif 'CV_IO_MAX_IMAGE_PIXELS' in error:
            reason = (f'more pixels than OpenCV decodes (its limit CV_IO_MAX_IMAGE_PIXELS, 2^30 = {OPENCV_MAX_PIXELS} '
                      'by default): the file may be fine but is too large')
            fix = ('Downscale it, or raise the limit with the environment variable OPENCV_IO_MAX_IMAGE_PIXELS set '
                   'before the run starts (each such image then takes over 3 GB to decode)')
        else:
            reason = 'cannot be decoded as an image (truncated, corrupt or not an image file)'
        said = f' (the decoder: "{printed}")' if printed else ''
        return BadImageError(f'bad image file {path}: {reason}{said}. {fix}')
