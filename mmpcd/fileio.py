"""Files the project reads and writes itself: safe checkpoint loading that names the file, atomic writes."""
import contextlib
import os
import os.path as osp
import re
import urllib.parse
import uuid
from typing import IO, Any, Callable, Dict, Iterator, Tuple, Union

import torch
from mmengine.dist import get_dist_info
from mmengine.runner.checkpoint import (_get_mmengine_home, _process_mmcls_checkpoint, get_deprecated_model_names,
                                        get_external_models, get_mmcls_models, get_torchvision_models)


class CheckpointLoadError(RuntimeError):
    """A checkpoint file that ``torch.load(..., weights_only=True)`` cannot read."""


def _load_failure(err: Exception) -> str:
    """torch's reason for a failed load, without its advice (which includes disabling ``weights_only``)."""
    text = str(err)
    if 'WeightsUnpickler error:' in text:  # an unsupported operand or a global that is not allowed
        text = re.split(r'Please use|Check the documentation', text.split('WeightsUnpickler error:', 1)[1])[0]
    elif 'Trying to load unsupported GLOBAL' in text:  # a global of a module torch blocks (os, posix, subprocess...)
        text = re.search(r'Trying to load unsupported GLOBAL[^\n]*', text)[0]
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


def download_checkpoint(url: str) -> str:
    """The local copy of ``url`` in torch.hub's cache (``<torch.hub.get_dir()>/checkpoints``, where mmengine's and
    torch's own URL loaders keep it), downloaded if absent; in a distributed run rank 0 downloads it first.

    Raises:
        OSError: The download failed; the message names the URL.
    """
    path = osp.join(torch.hub.get_dir(), 'checkpoints', osp.basename(urllib.parse.urlparse(url).path))
    rank, world_size = get_dist_info()
    if rank > 0:
        torch.distributed.barrier()  # rank 0 downloads
    if not osp.exists(path):
        os.makedirs(osp.dirname(path), exist_ok=True)
        try:
            torch.hub.download_url_to_file(url, path, progress=os.isatty(2))
        except OSError as err:
            raise OSError(f'cannot download the checkpoint {url}: {err}. Check the address and the network, or '
                          'download the file yourself and give its local path') from err
    if rank == 0 and world_size > 1:
        torch.distributed.barrier()
    return path


def load_from_url(url: str, map_location: Any = None) -> Any:
    """mmengine's loader of ``http://`` and ``https://`` checkpoints, safe: the file is downloaded
    (:func:`download_checkpoint`) and read by :func:`load_checkpoint_file`, ``weights_only=True``.

    mmengine's own (``load_from_http``) calls ``torch.hub.load_state_dict_from_url``, whose ``weights_only`` is
    False: a file at a URL, or one planted in the download cache, ran the code pickled in it.

    Raises:
        OSError: The download failed.
        CheckpointLoadError: The file holds more than tensors and
            containers, or is not a readable checkpoint; the URL and the
            cached file are named.
    """
    return load_checkpoint_file(download_checkpoint(url), f'checkpoint {url}, downloaded to', map_location=map_location)


def load_from_model_zoo(filename: str, map_location: Any = None) -> Any:
    """mmengine's loader of ``torchvision://`` (``modelzoo://``), ``open-mmlab://`` (``openmmlab://``) and
    ``mmcls://`` checkpoints, safe: the name is looked up in mmengine's tables as mmengine does, and the file loaded
    by :func:`load_from_url` (or, for an ``open-mmlab`` entry that is a path, :func:`load_local_checkpoint`
    under mmengine's home).

    Raises:
        KeyError: mmengine's table has no such name.
        OSError, CheckpointLoadError: As :func:`load_from_url`.
    """
    scheme, name = filename.split('://', 1)
    if scheme in ('torchvision', 'modelzoo'):
        urls = get_torchvision_models()
    elif scheme == 'mmcls':
        urls = get_mmcls_models()
    else:
        urls = get_external_models()
        name = get_deprecated_model_names().get(name, name)
    if name not in urls:
        raise KeyError(f'{filename}: mmengine\'s table of {scheme}:// checkpoints has no {name!r} (it has, e.g., '
                       f'{", ".join(sorted(urls)[:3])}); fix the name, or give a local path or an http(s) URL')
    if not urls[name].startswith(('http://', 'https://')):  # open-mmlab: a file under mmengine's home
        return load_local_checkpoint(osp.join(_get_mmengine_home(), urls[name]), map_location)
    checkpoint = load_from_url(urls[name], map_location)
    return _process_mmcls_checkpoint(checkpoint) if scheme == 'mmcls' else checkpoint


def load_from_unsupported_scheme(filename: str, map_location: Any = None) -> Any:
    """mmengine's ``pavi://``, ``s3://`` and ``petrel://`` schemes: refused, naming the file and what to do.

    Their clients (SenseTime's pavi and petrel) are not part of this stack, so no safe loader for them could be
    tested; mmengine's own call ``torch.load`` on what they fetch.

    Raises:
        CheckpointLoadError: Always.
    """
    raise CheckpointLoadError(f'cannot load the checkpoint {filename}: mmpcd reads every checkpoint with '
                              'torch.load(weights_only=True) through its own loaders, and has none for pavi://, s3:// '
                              'or petrel:// (their clients are not part of this stack). Copy the file to local disk '
                              '(or an http(s) server) and give that path')


#: Every scheme of mmengine's ``CheckpointLoader`` (mmengine/runner/checkpoint.py), with the loader that replaces
#: mmengine's: each reads through :func:`load_checkpoint_file` (``weights_only=True``) or refuses. Installed by
#: :mod:`mmpcd.compat` when mmpcd is imported. (Named ``load_from_*`` as mmengine's: its log names the loader by the
#: rest of the name, ``Loads checkpoint by url backend``.)
CHECKPOINT_SCHEMES: Dict[Union[str, Tuple[str, ...]], Callable[[str, Any], Any]] = {
    '': load_local_checkpoint,
    ('http://', 'https://'): load_from_url,
    ('modelzoo://', 'torchvision://', 'open-mmlab://', 'openmmlab://', 'mmcls://'): load_from_model_zoo,
    ('pavi://', r'(\S+\:)?s3://', r'(\S+\:)?petrel://'): load_from_unsupported_scheme,
}


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
    'CheckpointLoadError', 'check_new_output', 'load_checkpoint_file', 'load_local_checkpoint', 'download_checkpoint',
    'load_from_url', 'load_from_model_zoo', 'load_from_unsupported_scheme', 'CHECKPOINT_SCHEMES', 'same_file',
    'atomic_write'
]
