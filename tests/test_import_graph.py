"""No import circle between mmpcd's subpackages: a module imported first in a fresh interpreter never finds a module of
another subpackage half-initialised, whatever the order.

The graph is read from the source with ``ast``: every ``import`` and ``from ... import`` of an mmpcd module,
those inside functions included (a lazy import only hides a circle until that function runs), and importing a
module imports its packages' ``__init__`` first (all but ``mmpcd``'s own, which every module shares). Circles
inside one subpackage (a package's ``__init__`` and its modules) are how Python packages are built and allowed.
"""
import ast
from pathlib import Path
from typing import Dict, Iterator, List, Set

from conftest import REPO

PACKAGE = Path(REPO) / 'mmpcd'


def module_files() -> Dict[str, Path]:
    """Dotted module name -> file, for every module and package of mmpcd."""
    modules = {}
    for path in PACKAGE.rglob('*.py'):
        parts = path.relative_to(PACKAGE.parent).with_suffix('').parts
        modules['.'.join(parts[:-1] if parts[-1] == '__init__' else parts)] = path
    return modules


def imported_names(module: str, path: Path) -> Iterator[str]:
    """The dotted names each import statement of ``path`` names (for ``from x import y``: x and x.y)."""
    package = module if path.name == '__init__.py' else module.rpartition('.')[0]
    for node in ast.walk(ast.parse(path.read_text(encoding='utf-8'))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = '.'.join(package.split('.')[:len(package.split('.')) - node.level + 1]) if node.level else ''
            source = '.'.join(part for part in (base, node.module) if part)
            yield source
            yield from (f'{source}.{alias.name}' for alias in node.names)


def import_graph() -> Dict[str, Set[str]]:
    """Module -> the mmpcd modules that importing it runs directly (an imported module's packages included)."""
    modules = module_files()
    graph = {module: set() for module in modules}
    for module, path in modules.items():
        for name in imported_names(module, path):
            while name and name not in modules:  # ``from package import function``: the package
                name = name.rpartition('.')[0]
            while name.count('.') >= 1:  # the module and its packages, but not mmpcd's __init__
                graph[module].add(name)
                name = name.rpartition('.')[0]
        graph[module].discard(module)
    return graph


def strongly_connected(graph: Dict[str, Set[str]]) -> List[List[str]]:
    """Tarjan's strongly connected components (iterative), each a list of modules."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on_stack: Set[str] = set()
    components = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(sorted(component))
    return components


def subpackage(module: str) -> str:
    """``mmpcd.evaluation.linear_probe`` -> ``evaluation``."""
    return module.split('.')[1]


def test_the_graph_sees_the_imports():
    """The reader finds relative, absolute and in-function imports (a wrong reader would find no circle)."""
    graph = import_graph()
    assert 'mmpcd.models.builder' in graph['mmpcd.analysis.models']
    assert {'mmpcd.datasets', 'mmpcd.datasets.image_lists'} <= graph['mmpcd.analysis.images']
    assert 'mmpcd.models.teachers.checkpoint_formats' in graph['mmpcd.models.teachers']
    assert any(len(c) > 1 for c in strongly_connected(graph))  # a package's __init__ and its modules


def test_no_import_circle_between_subpackages():
    circles = [c for c in strongly_connected(import_graph()) if len(c) > 1 and len({subpackage(m) for m in c}) > 1]
    assert not circles, 'import circles across subpackages (move the shared piece below both):\n' + '\n'.join(
        ' <-> '.join(c) for c in circles)


#: The house, from the ground up: a subpackage imports only those on lower floors (issue 32 item 6). The files and
#: data come first, then the models, what reads a model as numbers (analysis, the random teachers of tests, the
#: exporters), what measures it (evaluation; the figures beside it, which draw numbers and compute none), the training
#: engine that runs both, and at the top the benchmarks that orchestrate training runs.
FLOORS = {
    'paths': 0,
    'fileio': 0,
    'config_literals': 0,
    'version': 0,
    'compat': 1,
    'datasets': 2,
    'models': 3,
    'analysis': 4,
    'testing': 4,
    'export': 4,
    'downstream': 4,
    'evaluation': 5,
    'visualization': 5,
    'engine': 6,
    'apis': 7,
    'benchmarks': 8,
}


def test_data_flows_one_way_through_the_house():
    """Every subpackage has a floor, and no module imports a subpackage on its own floor or above it (a figure that
    computes a probe, production code that imports the test helpers, a probe that imports a benchmark)."""
    graph = import_graph()
    packages = {subpackage(m) for m in graph if m.count('.') >= 1}
    assert packages == set(FLOORS), f'give each subpackage a floor: {sorted(packages ^ set(FLOORS))}'
    upward = sorted(f'{m} imports {d}' for m, deps in graph.items() if m.count('.') >= 1 for d in deps
                    if subpackage(d) != subpackage(m) and FLOORS[subpackage(d)] >= FLOORS[subpackage(m)])
    assert not upward, 'imports that run up the house:\n' + '\n'.join(upward)
