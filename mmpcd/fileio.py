"""Files the project reads and writes itself: safe checkpoint loading that names the file, atomic writes."""
import contextlib
import os
import os.path as osp
import re
import uuid
from typing import IO, Any, Iterator

import torch


class CheckpointLoadError(RuntimeError):
    """A checkpoint file that ``torch.load(..., weights_only=True)`` cannot read."""


def _load_failure(err: Exception) -> str:
    """torch's reason for a failed load, without its advice (which includes disabling ``weights_only``)."""
    text = str(err)
    if 'WeightsUnpickler error:' in text:  # an unsupported operand or a global that is not allowed
        text = re.split(r'Please use|Check the documentation', text.split('WeightsUnpickler error:', 1)[1])[0]
    text = ' '.join(text.split())
    return re.split(r'(?<=\.) ', text)[0].rstrip('.') or type(err).__name__


def load_checkpoint_file(path: str, what: str = 'checkpoint', mmap: bool = False, map_location: Any = 'cpu') -> Any:
    """``torch.load(path, map_location='cpu', weights_only=True)``; a file it cannot read is an error naming it.

    Nothing pickled in the file can run. A missing file or a directory is
    torch's ``OSError``, which names the path already.

    Args:
        path: A local file.
        what: What the file is, for the message (``'teacher checkpoint'``).
        mmap: Map the file instead of reading it: tensors are read only when
            used (for a look at a checkpoint's metadata).
        map_location: Where the tensors go, as for ``torch.load``.

    Raises:
        CheckpointLoadError: The file is empty, truncated, corrupt, not a
            PyTorch checkpoint, or pickles objects other than tensors and
            containers; torch's reason is in the message, without its advice.
    """
    try:
        return torch.load(path, map_location=map_location, weights_only=True, mmap=mmap)
    except OSError:
        raise
    except Exception as err:
        reason = 'empty file (0 bytes)' if osp.getsize(path) == 0 else _load_failure(err)
        raise CheckpointLoadError(
            f'cannot load the {what} {path} with torch.load(weights_only=True): {reason}. The file is truncated, '
            'corrupt, not a PyTorch checkpoint, or holds pickled objects other than tensors: check it (size, '
            'checksum) and download or copy it again. Do not load it with weights_only=False: that runs any code '
            'pickled in it') from None  # torch's own text advises weights_only=False: never shown


def load_local_checkpoint(filename: str, map_location: Any = None) -> Any:
    """mmengine's loader of local checkpoints (``load_from``, ``--resume``, ``init_cfg=Pretrained``), through
    :func:`load_checkpoint_file`: an unreadable file is named, without torch's advice to drop ``weights_only``.

    Installed for the ``''`` scheme of mmengine's ``CheckpointLoader`` when mmpcd is imported.

    Raises:
        FileNotFoundError: ``filename`` is not a file (mmengine's message).
        CheckpointLoadError: :func:`load_checkpoint_file` cannot read it.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    return load_checkpoint_file(filename, 'checkpoint', map_location=map_location)


def same_file(a: str, b: str) -> bool:
    """Whether paths ``a`` and ``b`` name one file, through other spellings, hard links and symlinks too."""
    if osp.exists(a) and osp.exists(b):
        return osp.samefile(a, b)
    return osp.realpath(a) == osp.realpath(b)


def check_new_output(path: str, replacement: str, force_option: str = '--force') -> None:
    """Refuse to replace an existing file unless the user asked for it.

    Args:
        path: The output path.
        replacement: What would replace the file, for the message.
        force_option: The command line option that allows it.

    Raises:
        FileExistsError: ``path`` exists (or is a link); the message names
            it, its size, what would replace it and both ways out.
    """
    if osp.lexists(path):
        size = f'{osp.getsize(path) / 2**20:.1f} MiB' if osp.exists(path) else 'a broken link'
        raise FileExistsError(f'the output {path} exists ({size}); it would be replaced by {replacement}, and what it '
                              f'holds lost: choose another output path, or pass {force_option} to replace it')


@contextlib.contextmanager
def atomic_write(path: str, mode: str = 'wb') -> Iterator[IO]:
    """Write ``path`` all at once: a temporary file beside it, renamed onto it (``os.replace``) when complete.

    A failure or a kill while writing leaves ``path`` as it was (absent or
    the old file); on a failure the temporary file is removed. Missing
    directories are created.

    Args:
        path: The file to write.
        mode: ``'wb'`` or ``'w'`` (text, UTF-8).

    Yields:
        The open temporary file.
    """
    directory, name = osp.split(osp.abspath(path))
    os.makedirs(directory, exist_ok=True)
    tmp = osp.join(directory, f'.{name}.{uuid.uuid4().hex[:8]}.tmp')
    try:
        with open(tmp, mode.replace('w', 'x'), encoding=None if 'b' in mode else 'utf-8') as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise


__all__ = [
    'CheckpointLoadError', 'check_new_output', 'load_checkpoint_file', 'load_local_checkpoint', 'same_file',
    'atomic_write'
]
