"""The model index (model-index.yml -> every configs/**/metafile.yml) agrees with configs/; each algorithm folder's
README.md (configs/{pcd,dino,...}/README.md) links every config of its folder.

Loads the index with openmim's loader (the `modelindex` package, as `mim search` does). Paths in the metafiles are
relative to the repository root (the OpenMMLab convention). Config.fromfile only: no model is built.
"""
import glob
import os.path as osp
import re

import pytest
import yaml
from mmengine.config import Config

from conftest import REPO

README = osp.join(REPO, 'configs', 'pcd', 'README.md')
#: The papers' titles, checked against each collection's metafile.
TITLES = {
    'PCD': 'Pixel-Wise Contrastive Distillation',
    'SEED': 'SEED: Self-supervised Distillation For Visual Representation',
    'DisCo': ('DisCo: Remedying Self-supervised Learning on Lightweight Models with Distilled Contrastive '
              'Learning'), 'CompRess': 'CompRess: Self-Supervised Learning by Compressing Representations'
}
#: Collections whose metafile names no paper, and why.
NO_PAPER = {'OSS': 'only its appendix is in ../shared/papers, and the appendix does not give the title'}
#: The config folders with a model card of their own (the downstream folders' is docs/downstream.md).
CARDS = sorted(osp.dirname(p) for p in glob.glob(osp.join(REPO, 'configs', '*', 'README.md')))


def relative(paths) -> list:
    return sorted(osp.relpath(p, REPO) for p in paths)


def leaf_configs(folder: str = osp.join(REPO, 'configs')) -> list:
    """Every config under ``folder``, recursively, outside ``_base_`` folders and the entry points at the top of
    configs/, relative to the repository root."""
    paths = glob.glob(osp.join(folder, '**', '*.py'), recursive=True)
    return [p for p in relative(paths) if '_base_' not in p.split(osp.sep) and osp.dirname(p) != 'configs']


def load_index():
    from modelindex.load_model_index import load  # openmim's dependency (requirements: openmim 0.3.9)
    index = load(osp.join(REPO, 'model-index.yml'))
    index.build_models_with_collections()
    return index


def test_model_index_imports_every_metafile():
    imported = yaml.safe_load(open(osp.join(REPO, 'model-index.yml'), encoding='utf-8'))['Import']
    assert sorted(imported) == relative(glob.glob(osp.join(REPO, 'configs', '**', 'metafile.yml'), recursive=True))
    index = load_index()
    names = [c.name for c in index.collections]
    assert len(names) == len(set(names)), 'duplicate collection names'
    for collection in index.collections:
        if collection.name in NO_PAPER:
            assert collection.paper is None, f'{collection.name} names its paper now: remove it from NO_PAPER'
        else:
            assert collection.paper['Title'] and collection.paper['URL'], collection.name
        assert osp.isfile(osp.join(REPO, collection.readme)), f'{collection.name}: no README {collection.readme}'
    collections = {c.name: c for c in index.collections}
    assert {name: collections[name].paper['Title'] for name in TITLES} == TITLES
    pcd = collections['PCD']
    assert osp.normpath(osp.join(REPO, pcd.readme)) == README, pcd.readme


def test_every_metafile_entry_is_a_config_of_its_folder_that_loads():
    """Each entry: a unique name, the config's own, in the metafile's folder; a collection of that metafile; the
    config's schedule (epochs or iterations); no weights (none are released); complete results; and the
    pre-training config it evaluates, when it names one, is itself in the index."""
    index = load_index()
    names = [m.name for m in index.models]
    assert names and len(names) == len(set(names)), 'duplicate model names'
    collections = {c.name: c.filepath for c in index.collections}
    configs = {m.config for m in index.models}
    for model in index.models:
        folder = osp.relpath(osp.dirname(model.filepath), REPO)
        assert collections[model.in_collection] == model.filepath, f'{model.name}: collection of another metafile'
        assert model.config.startswith(folder + '/'), f'{model.name}: {model.config} is not under {folder}/'
        path = osp.join(REPO, model.config)
        assert osp.isfile(path), f'{model.name}: {model.config} does not exist'
        assert model.name == osp.splitext(osp.basename(model.config))[0], model.name
        assert model.weights is None, f'{model.name}: no weights are released, yet it names {model.weights}'
        meta = model.metadata.data
        assert meta.get('Batch Size'), model.name
        train_cfg = Config.fromfile(path).train_cfg
        if 'Iterations' in meta:
            assert train_cfg.max_iters == meta['Iterations'], model.name
        else:
            assert train_cfg.max_epochs == meta['Epochs'], model.name
        if 'Pre-training' in meta:
            assert meta['Pre-training'] in configs, f'{model.name}: {meta["Pre-training"]} is in no metafile'
        for result in model.results or []:
            assert result.task and result.dataset and result.metrics, model.name
            assert all(isinstance(v, (int, float)) for v in result.metrics.values()), model.name


def test_every_leaf_config_is_in_a_metafile():
    """Walks configs/: every folder's configs (new ones too) must be named by a metafile. The entry points at the
    top of configs/ (pcd_r18.py, pcd_r18_demo.py) are short overrides of a config that one names."""
    named = {model.config for model in load_index().models}
    missing = [p for p in leaf_configs() if p not in named]
    assert not missing, f'configs missing from every metafile (add them to their folder\'s metafile.yml): {missing}'
    for entry in glob.glob(osp.join(REPO, 'configs', '*.py')):
        text = open(entry, encoding='utf-8').read()
        base = re.search(r"^_base_ = '([^']+)'", text, re.M)
        assert base, f'{entry}: an entry point overrides one config'
        assert osp.relpath(osp.normpath(osp.join(osp.dirname(entry), base.group(1))), REPO) in named, entry


@pytest.mark.parametrize('folder', CARDS, ids=osp.basename)
def test_readme_links_exist_and_cover_every_config(folder):
    name = osp.relpath(osp.join(folder, 'README.md'), REPO)
    text = open(osp.join(folder, 'README.md'), encoding='utf-8').read()
    links = [t for t in re.findall(r'\]\(([^)]+)\)', text) if not t.startswith(('http://', 'https://', '#'))]
    assert links
    broken = [t for t in links if not osp.exists(osp.normpath(osp.join(folder, t.split('#')[0])))]
    assert not broken, f'{name} links to missing paths: {broken}'
    linked = {osp.relpath(osp.normpath(osp.join(folder, t)), REPO) for t in links}
    unlinked = [p for p in leaf_configs(folder) if p not in linked]
    assert not unlinked, f'{name} has no link to: {unlinked}'
