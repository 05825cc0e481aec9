"""Values of an OpenMMLab config read from its source without running it: a dumped config can hold any code."""
import ast
from typing import Any


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
    """The value of the dotted ``key`` in the config file ``path`` (as mmengine dumps it), read without running it
    (:func:`literal_value` of the file's text).

    Raises:
        UnsafeConfigValue: The value is not a literal there.
        SyntaxError: The file is not Python.
    """
    with open(path, encoding='utf-8') as f:
        return literal_value(f.read(), key, path)


def literal_value(text: str, key: str, filename: str = '<config>') -> Any:
    """The value of the dotted ``key`` in the config source ``text`` (as mmengine dumps it), read without running it.

    The text is parsed, not executed: a shared or downloaded work dir's
    ``config.py``, or the ``meta['cfg']`` of a checkpoint, can hold any code.
    The top-level assignment of the key's first part is read if it is made of
    literals and ``dict(...)`` calls (what mmengine's dump writes).

    Args:
        text: The config's Python source.
        key: A dotted key, e.g. ``'model.backbone'``.
        filename: Where ``text`` comes from, for a ``SyntaxError``'s message.

    Returns:
        The value, or None if the key is not in the text.

    Raises:
        UnsafeConfigValue: The value is not a literal there.
        SyntaxError: The text is not Python.
    """
    name, *rest = key.split('.')
    tree = ast.parse(text, filename=filename)
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


__all__ = ['UnsafeConfigValue', 'literal_config_value', 'literal_value']
