"""The model index (model-index.yml -> configs/pcd/metafile.yml) and configs/pcd/README.md agree with configs/pcd/.

Loads the index with openmim's loader (the `modelindex` package, as `mim search` does). Config.fromfile only: no
model is built.
"""
import glob
import os.path as osp
import re

from mmengine.config import Config

from conftest import REPO

PCD_CONFIGS = osp.join(REPO, 'configs', 'pcd')
METAFILE = osp.join(PCD_CONFIGS, 'metafile.yml')
README = osp.join(PCD_CONFIGS, 'README.md')


def leaf_configs():
    """Every config under configs/pcd/, recursively, relative to the repository root."""
    paths = glob.glob(osp.join(PCD_CONFIGS, '**', '*.py'), recursive=True)
    return sorted(osp.relpath(p, REPO) for p in paths)


def load_index():
    from modelindex.load_model_index import load  # openmim's dependency (requirements: openmim 0.3.9)
    index = load(osp.join(REPO, 'model-index.yml'))
    index.build_models_with_collections()
    return index


def test_model_index_imports_the_pcd_metafile():
    index = load_index()
    assert [c.name for c in index.collections] == ['PCD']
    collection, = index.collections
    assert collection.paper['Title'] == 'Pixel-Wise Contrastive Distillation'
    assert osp.normpath(osp.join(REPO, collection.readme)) == README, collection.readme
    assert index.models, 'the metafile names no model'


def test_every_metafile_entry_is_a_pcd_config_that_loads():
    index = load_index()
    names = [m.name for m in index.models]
    assert len(names) == len(set(names)), 'duplicate model names'
    for model in index.models:
        assert model.in_collection == 'PCD', model.name
        assert model.config.startswith('configs/pcd/'), model.config
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


def test_every_pcd_config_is_in_the_metafile():
    named = {model.config for model in load_index().models}
    missing = [p for p in leaf_configs() if p not in named]
    assert not missing, f'configs/pcd/ configs missing from configs/pcd/metafile.yml: {missing}'


def test_readme_links_exist_and_cover_every_config():
    text = open(README, encoding='utf-8').read()
    links = [t for t in re.findall(r'\]\(([^)]+)\)', text) if not t.startswith(('http://', 'https://', '#'))]
    assert links
    broken = [t for t in links if not osp.exists(osp.normpath(osp.join(PCD_CONFIGS, t.split('#')[0])))]
    assert not broken, f'configs/pcd/README.md links to missing paths: {broken}'
    linked = {osp.relpath(osp.normpath(osp.join(PCD_CONFIGS, t)), REPO) for t in links}
    unlinked = [p for p in leaf_configs() if p not in linked]
    assert not unlinked, f'configs/pcd/README.md has no link to: {unlinked}'
