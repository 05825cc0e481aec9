"""mmengine's json training logs (``<work_dir>/<timestamp>/vis_data/<timestamp>.json``), read into series."""
import ast
import glob
import json
import os.path as osp
from typing import Any, Dict, List, Optional


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


class UnsafeConfigValue(ValueError):
    """A value of a dumped config that is not a literal (it would need the config's code to run)."""


def _literal(node: ast.AST) -> Any:
    """The value of ``node``: a literal, or ``dict(...)`` / ``{...}`` / lists / tuples of literals; nothing runs.

    Raises:
        UnsafeConfigValue: Anything else (a name, another call, an operator).
    """
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == 'dict' and not node.args:
        if any(keyword.arg is None for keyword in node.keywords):
            raise UnsafeConfigValue('dict(**...)')
        return {keyword.arg: _literal(keyword.value) for keyword in node.keywords}
    if isinstance(node, ast.Dict):
        return {_literal(key): _literal(value) for key, value in zip(node.keys, node.values)}
    if isinstance(node, ast.List):
        return [_literal(element) for element in node.elts]
    if isinstance(node, ast.Tuple):
        return tuple(_literal(element) for element in node.elts)
    try:
        return ast.literal_eval(node)
    except ValueError:
        raise UnsafeConfigValue(ast.dump(node)[:80]) from None


def literal_config_value(path: str, key: str) -> Any:
    """The value of the dotted ``key`` in the config file ``path`` (as mmengine dumps it), read without running it.

    The file is parsed, not executed: a shared or downloaded work dir's
    ``config.py`` can hold any code. The top-level assignment of the key's
    first part is read if it is made of literals and ``dict(...)`` calls
    (what mmengine's dump writes).

    Returns:
        The value, or None if the key is not in the file.

    Raises:
        UnsafeConfigValue: The value is not a literal there.
        SyntaxError: The file is not Python.
    """
    name, *rest = key.split('.')
    with open(path, encoding='utf-8') as f:
        tree = ast.parse(f.read(), filename=path)
    assigned = [
        node.value for node in tree.body
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets)
    ]
    if not assigned:
        return None
    node = assigned[-1]
    for part in rest:  # down the dict(...) calls, so that only the key's own value must be a literal
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == 'dict':
            found = [keyword.value for keyword in node.keywords if keyword.arg == part]
        elif isinstance(node, ast.Dict):
            found = [
                value for k, value in zip(node.keys, node.values) if isinstance(k, ast.Constant) and k.value == part
            ]
        else:
            raise UnsafeConfigValue(f'{key}: {ast.dump(node)[:80]}')
        if not found:
            return None
        node = found[-1]
    return _literal(node)


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
