"""Per-sample augmentation seeds: the views depend on (seed, epoch, sample) only."""
import copy
import os.path as osp
import pickle
import random

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from mmpcd.datasets import SeededAugmentationSampler, SeededIndex

from conftest import REPO


def views(epoch, num_workers=0, persistent=False, shuffle=True, seed=0, epochs_before=0,
          sampler='SeededAugmentationSampler'):
    """The first views of one epoch of the demo's data at 32 px, after iterating ``epochs_before`` epochs."""
    cfg = copy.deepcopy(Config.fromfile(osp.join(REPO, 'configs', 'pcd_r18_demo.py')).train_dataloader)
    for view in cfg.dataset.pipeline[1]['transforms']:
        view[0]['size'] = 32
    cfg.update(batch_size=4, num_workers=num_workers, persistent_workers=persistent)
    cfg.sampler.update(type=sampler, shuffle=shuffle)
    loader = Runner.build_dataloader(cfg, seed=seed)
    for e in range(epoch - epochs_before, epoch + 1):
        loader.sampler.set_epoch(e)
        batches = [batch['inputs'][0] for batch in loader]
    return torch.cat(batches)


@pytest.mark.slow
def test_views_depend_on_seed_epoch_and_sample_only():
    reference = views(epoch=1)
    assert torch.equal(views(epoch=1, num_workers=2), reference)
    assert torch.equal(views(epoch=1, num_workers=2, persistent=True, epochs_before=1), reference)
    assert not torch.equal(views(epoch=2), reference)
    assert not torch.equal(views(epoch=1, seed=1), reference)
    # fresh augmentations each epoch, also in a fixed order
    assert not torch.equal(views(epoch=0, shuffle=False), views(epoch=1, shuffle=False))
    # mmengine's DefaultSampler: workers re-seeded alike each epoch repeat the views (the fixed problem)
    default = dict(shuffle=False, num_workers=2, sampler='DefaultSampler')
    assert torch.equal(views(epoch=0, **default), views(epoch=1, **default))


def test_pipeline_leaves_the_process_random_streams_alone():
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'pcd_r18_demo.py')).train_dataloader
    loader = Runner.build_dataloader(cfg, seed=0)
    states = random.getstate(), np.random.get_state()[1].copy(), torch.get_rng_state()
    sample = loader.dataset[SeededIndex(3, seed=11)]['inputs'][0]
    assert random.getstate() == states[0] and np.array_equal(np.random.get_state()[1], states[1])
    assert torch.equal(torch.get_rng_state(), states[2])
    assert torch.equal(loader.dataset[SeededIndex(3, seed=11)]['inputs'][0], sample)
    assert not torch.equal(loader.dataset[SeededIndex(3, seed=12)]['inputs'][0], sample)
    index = pickle.loads(pickle.dumps(SeededIndex(3, seed=11)))  # as sent to the data workers
    assert index == 3 and index.seed == 11


def test_a_dataset_without_pipeline_is_refused():
    with pytest.raises(TypeError, match='has no `pipeline`.*DefaultSampler'):
        SeededAugmentationSampler(list(range(8)), seed=0)
