"""One run at a time in a work dir: a lock file that names its holder, removed when the run ends."""
import contextlib
import json
import logging
import os
import os.path as osp
import socket
import sys
import time
from typing import Iterator, Optional

from mmengine.logging import print_log

LOCK_NAME = '.mmpcd_run.lock'


class WorkDirLockedError(RuntimeError):
    """Another run is writing into the work dir."""


def _alive(pid: int) -> bool:
    """Whether process ``pid`` of this host exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, as another user's
        return True
    return True


def _read_holder(path: str) -> Optional[dict]:
    """The holder recorded in the lock file ``path``; None if it is gone or unreadable (being written)."""
    try:
        with open(path, encoding='utf-8') as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _try_create(path: str, holder: dict) -> bool:
    """Create the lock file ``path`` holding ``holder``, only if it does not exist."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, 'w', encoding='utf-8') as f:
        json.dump(holder, f)
    return True


@contextlib.contextmanager
def work_dir_lock(work_dir: str) -> Iterator[str]:
    """Hold ``work_dir``'s lock file (``.mmpcd_run.lock``: pid, host, start, command) while the block runs.

    A second run into the same work dir would overwrite the first's
    checkpoints, logs and curves. The lock is taken atomically (the file is
    created only if absent) and removed when the block ends, on an error
    too. A lock left by a killed run on this host (its pid is gone) is
    stale: it is replaced, with a warning. A lock of another host cannot be
    checked from here: the error says how to remove it once that run is
    known to be over.

    Args:
        work_dir: The run's work dir (created if missing).

    Yields:
        The lock file's path.

    Raises:
        WorkDirLockedError: A live run holds the lock, naming its pid, host,
            start time and command.
    """
    os.makedirs(work_dir, exist_ok=True)
    path = osp.join(work_dir, LOCK_NAME)
    host = socket.gethostname()
    holder = dict(pid=os.getpid(), host=host, started=time.strftime('%Y-%m-%d %H:%M:%S'), command=' '.join(sys.argv))
    for _ in range(50):
        if _try_create(path, holder):
            break
        other = _read_holder(path)
        if other is None:  # being written by a run that is starting, or just removed: look again
            time.sleep(0.1)
            continue
        if other.get('host') == host and not _alive(int(other.get('pid', -1))):
            print_log(
                f'{path}: removing the stale lock of process {other.get("pid")} (no longer running; started '
                f'{other.get("started")}: {other.get("command")})', logger='current', level=logging.WARNING)
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)
            continue
        raise WorkDirLockedError(
            f'the work dir {work_dir} is in use by another run: process {other.get("pid")} on {other.get("host")}, '
            f'started {other.get("started")} ({other.get("command")}). Two runs in one work dir overwrite each '
            f'other\'s checkpoints and logs: give this run another --work-dir, or wait for that one to end. If that '
            f'run is over (killed on another machine), remove {path}')
    else:
        raise WorkDirLockedError(f'the lock file {path} exists but holds no readable holder: another run may be '
                                 f'starting in {work_dir}; if none is, remove {path}')
    try:
        yield path
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)
