"""The model index (model-index.yml -> configs/{pcd,seed,disco,compress}/metafile.yml) and each folder's README.md
agree with the configs of that folder.

Loads the index with openmim's loader (the `modelindex` package, as `mim search` does). Config.fromfile only: no
model is built.
"""
import glob
import os.path as osp
import re

import pytest
from mmengine.config import Config

from conftest import REPO

#: collection -> its config folder (metafile.yml and README.md there)
FOLDERS = {'PCD': 'pcd', 'SEED': 'seed', 'DisCo': 'disco', 'CompRess': 'compress'}
TITLES = {'PCD': 'Pixel-Wise Contrastive Distillation',
          'SEED': 'SEED: Self-supervised Distillation For Visual Representation',
          'DisCo': ('DisCo: Remedying Self-supervised Learning on Lightweight Models with Distilled Contrastive '
                    'Learning'),
          'CompRess': 'CompRess: Self-Supervised Learning by Compressing Representations'}


def leaf_configs(folder):
    """Every config under configs/{folder}/, recursively, relative to the repository root."""
    paths = glob.glob(osp.join(REPO, 'configs', folder, '**', '*.py'), recursive=True)
    return sorted(osp.relpath(p, REPO) for p in paths)


def load_index():
    from modelindex.load_model_index import load  # openmim's dependency (requirements: openmim 0.3.9)
    index = load(osp.join(REPO, 'model-index.yml'))
    index.build_models_with_collections()
    return index


def test_model_index_imports_every_metafile():
    index = load_index()
    assert [c.name for c in index.collections] == list(FOLDERS)
    for collection in index.collections:
        assert collection.paper['Title'] == TITLES[collection.name]
        readme = osp.join(REPO, 'configs', FOLDERS[collection.name], 'README.md')
        assert osp.normpath(osp.join(REPO, collection.readme)) == readme, collection.readme
    assert index.models, 'the metafiles name no model'


def test_every_metafile_entry_is_a_config_of_its_collection_that_loads():
    index = load_index()
    names = [m.name for m in index.models]
    assert len(names) == len(set(names)), 'duplicate model names'
    for model in index.models:
        assert model.config.startswith(f'configs/{FOLDERS[model.in_collection]}/'), model.config
        path = osp.join(REPO, model.config)
        assert osp.isfile(path), f'{model.name}: {model.config} does not exist'
        assert model.name == osp.splitext(osp.basename(model.config))[0], model.name
        assert model.weights is None, f'{model.name}: no weights are released, yet it names {model.weights}'
        meta = model.metadata
        assert meta.epochs and meta.batch_size, model.name
        cfg = Config.fromfile(path)
        assert cfg.train_cfg.max_epochs == meta.epochs, model.name
        for result in model.results or []:
            assert result.task and result.dataset and result.metrics, model.name


@pytest.mark.parametrize('collection', FOLDERS)
def test_every_config_is_in_its_metafile(collection):
    named = {model.config for model in load_index().models if model.in_collection == collection}
    missing = [p for p in leaf_configs(FOLDERS[collection]) if p not in named]
    assert not missing, f'configs/{FOLDERS[collection]}/ configs missing from its metafile.yml: {missing}'


@pytest.mark.parametrize('folder', FOLDERS.values())
def test_readme_links_exist_and_cover_every_config(folder):
    configs = osp.join(REPO, 'configs', folder)
    text = open(osp.join(configs, 'README.md'), encoding='utf-8').read()
    links = [t for t in re.findall(r'\]\(([^)]+)\)', text) if not t.startswith(('http://', 'https://', '#'))]
    assert links
    broken = [t for t in links if not osp.exists(osp.normpath(osp.join(configs, t.split('#')[0])))]
    assert not broken, f'configs/{folder}/README.md links to missing paths: {broken}'
    linked = {osp.relpath(osp.normpath(osp.join(configs, t)), REPO) for t in links}
    unlinked = [p for p in leaf_configs(folder) if p not in linked]
    assert not unlinked, f'configs/{folder}/README.md has no link to: {unlinked}'
