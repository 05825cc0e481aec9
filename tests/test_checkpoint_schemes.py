"""Every checkpoint that mmengine's ``CheckpointLoader`` reads for the project, whatever its scheme, goes through
``torch.load(weights_only=True)`` (issue 33 item 2).

mmengine read ``http(s)://``, ``torchvision://`` (``modelzoo://``), ``open-mmlab://`` and ``mmcls://`` with
``torch.hub.load_state_dict_from_url``, whose ``weights_only`` is False: a file at such an address ran the code
pickled in it, through ``load_from``, ``init_cfg=Pretrained`` and ``run_downstream.py``'s key check alike. No test
downloads: torch.hub's download is replaced by a copy of a local file into its cache.
"""
import os
import shutil
import urllib.error

import pytest
import torch
from mmengine.model.weight_init import PretrainedInit
from mmengine.runner.checkpoint import CheckpointLoader, _load_checkpoint, get_external_models

from mmpcd.benchmarks.downstream import pretrained_tensors
from mmpcd.fileio import CHECKPOINT_SCHEMES, CheckpointLoadError


class MakeDirectory:
    """Pickled code: unpickling it with ``weights_only=False`` calls ``os.mkdir(path)``."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return os.mkdir, (self.path, )


def open_mmlab_url_name() -> str:
    """A name of mmengine's open-mmlab table whose entry is a URL."""
    return next(name for name, url in sorted(get_external_models().items()) if url.startswith('https://'))


@pytest.fixture
def served(tmp_path, monkeypatch):
    """Serve a file at every URL: torch.hub's download copies ``served['file']`` into torch.hub's cache (under
    tmp_path) and records the URL."""
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    served = dict(file=None, urls=[])

    def copy(url, dst, hash_prefix=None, progress=True):
        served['urls'].append(url)
        shutil.copy(served['file'], dst)

    monkeypatch.setattr(torch.hub, 'download_url_to_file', copy)
    return served


def load_by(caller: str, filename: str):
    """Load ``filename`` as ``caller`` does: ``load_from`` / ``--resume`` (Runner.load_checkpoint calls
    ``_load_checkpoint``), a ``Pretrained`` init, ``run_downstream.py``'s key check."""
    if caller == 'load_from':
        return _load_checkpoint(filename, map_location='cpu')
    if caller == 'Pretrained':
        return PretrainedInit(checkpoint=filename)(torch.nn.Linear(2, 2))
    return pretrained_tensors(dict(type='Pretrained', checkpoint=filename))


@pytest.mark.parametrize('caller', ['load_from', 'Pretrained', 'run_downstream'])
@pytest.mark.parametrize('filename', [
    'https://example.com/models/evil.pth', 'http://example.com/evil.pth', 'torchvision://resnet18',
    'modelzoo://resnet18', 'open-mmlab://OPEN_MMLAB', 'openmmlab://OPEN_MMLAB', 'mmcls://resnet50'
])
def test_pickled_code_at_a_url_never_runs(served, tmp_path, caller, filename):
    """The file at the address pickles a call to ``os.mkdir``: it is refused with the reason, naming the URL and the
    cached file, and the directory is never made (mmengine's loaders made it)."""
    marker = tmp_path / 'code_ran'
    served['file'] = str(tmp_path / 'evil.pth')
    torch.save(dict(state_dict=dict(weight=torch.ones(2, 2)), payload=MakeDirectory(str(marker))), served['file'])
    filename = filename.replace('OPEN_MMLAB', open_mmlab_url_name())
    with pytest.raises(
            CheckpointLoadError, match=r'cannot load the checkpoint https?://\S+, downloaded to \S+ with '
            r'torch.load\(weights_only=True\): Trying to load unsupported GLOBAL posix.mkdir whose module posix is '
            'blocked') as info:
        load_by(caller, filename)
    assert not marker.exists()
    url = served['urls'][0]
    assert url.startswith(('http://', 'https://')) and f'checkpoint {url}, downloaded to' in str(info.value)
    assert 'Do not load it with weights_only=False' in str(info.value)


def test_a_checkpoint_at_a_url_loads_as_mmengine_loaded_it(served, tmp_path, monkeypatch):
    """Tensors at a URL load, from the cache the second time; ``mmcls://`` still takes the ``backbone.`` keys; a
    failed download names the URL."""
    served['file'] = str(tmp_path / 'good.pth')
    torch.save(dict(state_dict={'backbone.conv.weight': torch.ones(2), 'head.fc.weight': torch.zeros(1)}),
               served['file'])
    loaded = _load_checkpoint('https://example.com/good.pth')
    assert torch.equal(loaded['state_dict']['backbone.conv.weight'], torch.ones(2))
    _load_checkpoint('https://example.com/good.pth')
    assert served['urls'] == ['https://example.com/good.pth']  # cached
    assert list(_load_checkpoint('mmcls://resnet50')['state_dict']) == ['conv.weight']

    def offline(url, dst, hash_prefix=None, progress=True):
        raise urllib.error.URLError('[Errno -3] Temporary failure in name resolution')

    monkeypatch.setattr(torch.hub, 'download_url_to_file', offline)
    with pytest.raises(
            OSError, match='cannot download the checkpoint https://example.com/other.pth: .*name '
            'resolution.*give its local path'):
        _load_checkpoint('https://example.com/other.pth')


@pytest.mark.parametrize('filename, message', [
    ('torchvision://resnet19', r"torchvision:// checkpoints has no 'resnet19'"),
    ('s3://bucket/model.pth', 'has none for pavi://, s3:// or petrel://'),
    ('open-mmlab:s3://bucket/model.pth', 'has none for pavi://, s3:// or petrel://'),
    ('petrel://bucket/model.pth', 'has none for pavi://, s3:// or petrel://'),
    ('pavi://model/1', 'has none for pavi://, s3:// or petrel://'),
])
def test_what_cannot_be_read_safely_is_refused_with_the_reason(filename, message):
    with pytest.raises((CheckpointLoadError, KeyError), match=message):
        _load_checkpoint(filename)


def test_every_scheme_of_mmengine_is_read_by_mmpcd():
    """After the OpenMMLab packages are imported, every scheme mmengine's CheckpointLoader knows is one of
    mmpcd's loaders (before: only local files were)."""
    import mmcls.models  # noqa: F401
    import mmdet.models  # noqa: F401
    import mmseg.models  # noqa: F401
    ours = set(CHECKPOINT_SCHEMES.values())
    assert {prefix: loader.__name__ for prefix, loader in CheckpointLoader._schemes.items() if loader not in ours} == {}
