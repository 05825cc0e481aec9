"""Every repository path that README.md and docs/*.md name exists (no model is built; reads text only).

Two checks over the paths in inline code, fenced code blocks and markdown links:
- a path that starts with a top-level entry of the repository (``configs/``, ``tools/``, ``mmpcd/``, ...) must exist
  there, unless it is a user-supplied location or an upstream path listed in ``SKIPPED`` / ``UPSTREAM``;
- a ``.py`` or ``.sh`` name given without its folder (``r18-c4_pcd.py``, ``mmdetection/coco/...``, the tables'
  config names) must be the tail of some file of the repository, unless it is an upstream file in ``UPSTREAM``.
Links are resolved from the folder of the document that holds them. ``a{b,c}d`` is expanded; ``{key}`` (no comma)
is a placeholder and skipped.
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
