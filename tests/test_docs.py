"""Every repository path that README.md and docs/*.md name exists, and every upstream file they cite is a known one
(no model is built; reads text only).

Two checks over the paths in inline code, fenced code blocks and markdown links:
- a path that starts with a top-level entry of the repository (``configs/``, ``tools/``, ``mmpcd/``, ...) must exist
  there, unless it is a user-supplied location or an upstream path listed in ``SKIPPED`` / ``UPSTREAM``;
- a ``.py`` or ``.sh`` name given without its folder (``r18-c4_pcd.py``, ``mmdetection/coco/...``, the tables'
  config names) must be the tail of some file of the repository, unless it is an upstream file in ``UPSTREAM``.
Links are resolved from the folder of the document that holds them. ``a{b,c}d`` is expanded; ``{key}`` (no comma)
is a placeholder and skipped.

A file of another repository is cited as ``owner/repo:path`` (``facebookresearch/dino:utils.py``, optionally
followed by ``:line``); every such citation in docs/*.md and configs/**/README.md must be a line of
``tests/data/upstream_files.txt``, the files seen in a snapshot of that repository (its header says how a line is
made), so that a wrong path fails here without reaching GitHub.
"""
import itertools
import re
from pathlib import Path
from typing import Iterator, List, Set, Tuple

import pytest

from conftest import REPO

ROOT = Path(REPO).resolve()
DOCS = [ROOT / 'README.md'] + sorted((ROOT / 'docs').glob('*.md'))
REPO_DIRS = ('configs/', 'tools/', 'mmpcd/', 'tests/', 'docs/', 'data/', 'requirements/')
REPO_FILES = ('README.md', 'LICENSE', 'setup.py', 'setup.cfg')

# Locations the user supplies or a run writes: not in the repository by design.
SKIPPED = {
    'data/imagenet/': 'ImageNet, put there by the user',
    'checkpoints/': 'released teacher files, downloaded by the user',
    'work_dirs/': 'outputs of runs',
    'WORK_DIR/': 'a placeholder for a run directory',
    '.venv/': 'made by tools/setup.sh',
    '~/': "the user's home (wheel cache)",
}
# Paths of other repositories (mmselfsup, detectron2, MoCo, PixPro, revisitAIRL, the official PCD code, SEED,
# CompRess) that the docs cite as sources; each is matched as a whole token.
UPSTREAM = {
    'configs/selfsup/_base_/models/byol.py': "mmselfsup 1.x's BYOL config",
    'coco/mask-rcnn_r50-c4_ms-1x_coco.py': "mmselfsup 1.0.0's configs/benchmarks/mmdetection/",
    'coco/mask-rcnn_r50_fpn_ms-1x_coco.py': "mmselfsup 1.0.0's configs/benchmarks/mmdetection/",
    'voc0712/faster-rcnn_r50-c4_ms-24k_voc0712.py': "mmselfsup 1.0.0's configs/benchmarks/mmdetection/",
    'config/defaults.py': "detectron2's defaults",
    'detectron2/data/datasets/pascal_voc.py': "detectron2's VOC loader",
    'data/datasets/pascal_voc.py': "detectron2's VOC loader (tail of the line-wrapped path)",
    'utils/__init__.py': "revisitAIRL's get_state_dict",
    'models/utils/mlp.py': "revisitAIRL's get_mlp",
    'pcd/teacher_model/byol_resnet50.py': 'the official PCD code (allo-rene/pcd)',
    'main_dino.py': 'facebookresearch/dino',
    'src/sslight/utils/loss.py': 'saic-fi/SSLight',
    'src/sslight/model/dino.py': 'saic-fi/SSLight',
    'src/config/defaults.py': 'saic-fi/SSLight',
    'configs/selfsup/_base_/datasets/imagenet_swav_mcrop-2-6.py': "mmselfsup 1.0.0's SwAV multi-crop pipeline",
    'seed/builder.py': 'jacobswan1/SEED (docs/seed.md)',
    'tools/opts.py': 'jacobswan1/SEED (docs/seed.md)',
    'main.py': 'jacobswan1/SEED (docs/seed.md)',
    'nn/compress_loss.py': 'UMBCvision/CompRess (docs/compress.md)',
    'train_student_one_queue.py': 'UMBCvision/CompRess (docs/compress.md)',
    'train_student.py': 'UMBCvision/CompRess (docs/compress.md)',
}
PATH_CHARS = r'[A-Za-z0-9_.\-/{},*~:]+'
MANIFEST = ROOT / 'tests' / 'data' / 'upstream_files.txt'
CITING_DOCS = sorted((ROOT / 'docs').glob('*.md')) + sorted((ROOT / 'configs').rglob('README.md'))
# owner/repo:path, not inside a longer path or URL; a repository's own folders are never an owner
CITATION = re.compile(r'(?<![\w./:-])([A-Za-z0-9][A-Za-z0-9-]*)/([A-Za-z0-9_.-]+):([A-Za-z0-9_.\-/]*[A-Za-z0-9_])')


def _expand(token: str) -> List[str]:
    """``a{b,c}d`` -> ``abd``, ``acd`` (every brace group with a comma)."""
    parts = re.split(r'(\{[^{}]*,[^{}]*\})', token)
    options = [p[1:-1].split(',') if p.startswith('{') and ',' in p else [p] for p in parts]
    return [''.join(choice) for choice in itertools.product(*options)]


def _tokens(doc: Path) -> Iterator[Tuple[str, str]]:
    """(token, where) for every path-like word of the document, links resolved to repository-relative paths."""
    text = doc.read_text(encoding='utf-8')
    fenced = re.findall(r'^```[^\n]*\n(.*?)^```', text, flags=re.S | re.M)
    inline_text = re.sub(r'^```[^\n]*\n.*?^```', '', text, flags=re.S | re.M)
    spans = fenced + re.findall(r'`([^`\n]+)`', inline_text)
    for span in spans:
        for word in re.findall(PATH_CHARS, span):
            yield word, f'{doc.name}: `{span.strip()[:60]}`'
    for target in re.findall(r'\]\(([^)\s]+)\)', inline_text):
        if re.match(r'[a-z]+://|#|mailto:', target):
            continue
        path = (doc.parent / target.split('#')[0]).resolve()
        yield str(path.relative_to(ROOT)) + ('/' if path.is_dir() else ''), f'{doc.name}: link ({target})'


def _problems() -> List[str]:
    files = [
        p.relative_to(ROOT).as_posix() for p in ROOT.rglob('*')
        if p.is_file() and not any(part in ('.git', '.venv', 'work_dirs') for part in p.parts)
    ]
    problems = []
    checked: Set[str] = set()
    for doc in DOCS:
        for token, where in _tokens(doc):
            token = token.split('::')[0] if '.py::' in token else token  # a pytest node id names its file
            token = token.rstrip('.,;:')
            if '::' in token or token in UPSTREAM or re.search(r'\{[^{},]*\}', token):
                continue  # an mmengine scope (mmdet::...), an upstream file, a {placeholder}
            for path in _expand(token):
                if any(path.startswith(skip) for skip in SKIPPED):
                    continue
                if path.startswith(REPO_DIRS) or path in REPO_FILES:
                    checked.add(path)
                    if not (ROOT / path).exists():
                        problems.append(f'{where}: {path} is not in the repository')
                elif re.fullmatch(r'[A-Za-z0-9_.\-/]+\.(py|sh)', path):
                    checked.add(path)
                    if not any(f == path or f.endswith('/' + path) for f in files):
                        problems.append(f'{where}: no file of the repository ends with {path}')
    assert len(checked) > 50, f'the parser found only {len(checked)} paths: the regexes no longer match the docs'
    return problems


def test_expand_braces():
    assert _expand('a{b,c}d{,e}') == ['abd', 'abde', 'acd', 'acde']
    assert _expand('plain.py') == ['plain.py']


def test_paths_named_in_docs_exist():
    problems = _problems()
    assert not problems, 'paths named in the docs that do not exist:\n' + '\n'.join(problems)


@pytest.mark.parametrize('name', sorted(set(SKIPPED) | set(UPSTREAM)))
def test_skips_are_not_in_the_repository(name):
    """A skipped or upstream path that appears in the repository should be checked instead of skipped."""
    assert not (ROOT / name).is_file(), f'{name} is in the repository: drop it from the skip lists'


def _citations(text: str) -> List[Tuple[str, str]]:
    """``(owner/repo, path)`` of every ``owner/repo:path`` citation of ``text``."""
    return [(f'{owner}/{repo}', path) for owner, repo, path in CITATION.findall(text) if f'{owner}/' not in REPO_DIRS]


def _manifest() -> Set[Tuple[str, str]]:
    """``(owner/repo, path)`` of every line of the manifest, each checked for its form."""
    entries = set()
    for line in MANIFEST.read_text(encoding='utf-8').splitlines():
        if line.startswith('#') or not line.strip():
            continue
        repo, path, commit = line.split()
        assert re.fullmatch(r'[\w.-]+/[\w.-]+', repo) and re.fullmatch(r'[0-9a-f]{40}', commit), line
        assert (repo, path) not in entries, f'{line}: listed twice'
        entries.add((repo, path))
    return entries


def test_citation_parser():
    text = ('`saic-fi/SSLight:src/backbone/layer.py` l. 74, `facebookresearch/dino:utils.py:628`, '
            'https://github.com/a/b, `mmdet::voc0712/x.py`, `configs/pcd:x.py`, DINO/SSLight: no path')
    assert _citations(text) == [('saic-fi/SSLight', 'src/backbone/layer.py'), ('facebookresearch/dino', 'utils.py')]
    # the path issue 24 found wrong in docs/dino_sslight.md (the file is src/sslight/backbone/layer.py) is not known
    assert ('saic-fi/SSLight', 'src/backbone/layer.py') not in _manifest()
    assert ('saic-fi/SSLight', 'src/sslight/backbone/layer.py') in _manifest()


def test_upstream_files_cited_in_docs_are_known():
    known = _manifest()
    cited = {(doc.relative_to(ROOT).as_posix(), citation)
             for doc in CITING_DOCS
             for citation in _citations(doc.read_text(encoding='utf-8'))}
    assert len(cited) > 20, f'only {len(cited)} citations found: the pattern no longer matches the docs'
    unknown = sorted(f'{doc}: {repo}:{path}' for doc, (repo, path) in cited if (repo, path) not in known)
    assert not unknown, (f'upstream files cited in the docs that {MANIFEST.relative_to(ROOT)} does not list (a wrong '
                         'path, or a file to check in a snapshot and add):\n' + '\n'.join(unknown))


def readme_block_commands(text: str) -> List[str]:
    """The commands of the README's first fenced block, a command a line (``\\``-continued lines joined, comments
    dropped)."""
    block = re.search(r'```bash\n(.*?)```', text, re.S).group(1)
    commands = re.sub(r'\\\n\s*', '', block).splitlines()
    return [line.split('#')[0].strip() for line in commands if line.split('#')[0].strip()]


def test_ci_runs_the_readmes_set_up_and_test_commands():
    """``.ci/run`` runs the README's set-up, lint and test commands (the test command with ``-v`` added to each
    pytest call), in that order, and nothing else."""
    readme = readme_block_commands((ROOT / 'README.md').read_text())
    assert readme[0] == 'bash tools/setup.sh' and readme[2] == 'bash tools/lint.sh', readme
    ci = [
        line for line in (ROOT / '.ci' / 'run').read_text().splitlines()
        if line and not line.startswith(('#', 'set ', 'cd '))
    ]
    test = [part.strip() + ' -v' for part in readme[1].split('&&')]
    assert ci == [readme[0], readme[2], *test], (ci, readme)
