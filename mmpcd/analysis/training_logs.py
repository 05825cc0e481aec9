"""mmengine's json training logs (``<work_dir>/<timestamp>/vis_data/<timestamp>.json``), read into series."""
import glob
import json
import os.path as osp
from typing import Dict, List, Optional

from mmpcd.config_literals import UnsafeConfigValue, literal_config_value


def log_files(path: str) -> List[str]:
    """The json logs of a work dir, oldest first (a resumed run has one per session), or ``[path]`` for a file.

    Raises:
        FileNotFoundError: ``path`` does not exist, or a work dir without any
            ``<timestamp>/vis_data/<timestamp>.json``.
    """
    if osp.isfile(path):
        return [path]
    if not osp.isdir(path):
        raise FileNotFoundError(f'{path} is neither an mmengine work dir nor a json log')
    files = sorted(f for f in glob.glob(osp.join(path, '*', 'vis_data', '*.json'))
                   if osp.basename(f) == osp.basename(osp.dirname(osp.dirname(f))) + '.json')
    if not files:
        raise FileNotFoundError(f'{path} holds no mmengine json log (<timestamp>/vis_data/<timestamp>.json): is it '
                                'the work dir of a run of tools/train.py?')
    return files


def read_training_log(path: str) -> Dict[str, List[float]]:
    """The logged training scalars of a work dir or json log, by iteration.

    Returns:
        ``{'iter': [...], 'loss': [...], 'lr': [...], ...}``: every scalar
        of the training lines (those with ``loss``), in iteration order; a
        later session's line replaces an earlier one of the same iteration
        (a resumed run).

    Raises:
        ValueError: a line is not json, or no line has ``loss`` and ``iter``.
    """
    rows: Dict[int, dict] = {}
    for file in log_files(path):
        with open(file) as f:
            for number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as err:
                    raise ValueError(f'{file}:{number}: not a json line ({err})') from None
                if 'loss' in row and 'iter' in row:
                    rows[int(row['iter'])] = row
    if not rows:
        raise ValueError(f'{path}: no training line (with "loss" and "iter") in {log_files(path)}')
    keys = [k for k in rows[min(rows)] if all(isinstance(r.get(k), (int, float)) for r in rows.values())]
    return {k: [rows[i][k] for i in sorted(rows)] for k in keys}


def queue_length(path: str) -> Optional[int]:
    """K of a PCD run (``model.head.queue_len`` of the config its last log dumped); None for a file or no queue.

    The config is parsed, never executed (:func:`literal_config_value`).

    Raises:
        ValueError: The config's ``model.head.queue_len`` is not a literal:
            give K another way (``plot_curves.py --num-negatives``).
    """
    if osp.isfile(path):
        return None
    config = osp.join(osp.dirname(log_files(path)[-1]), 'config.py')
    if not osp.isfile(config):
        return None
    try:
        return literal_config_value(config, 'model.head.queue_len')
    except (UnsafeConfigValue, SyntaxError) as err:
        raise ValueError(f'{config}: model.head.queue_len is not a literal value ({err}); it is read without running '
                         'the file, which may hold any code: give the queue length with --num-negatives') from None
