import random
from typing import Callable, Iterator, Optional, Sized

import numpy as np
import torch
from mmengine.dataset import DefaultSampler

from mmselfsup.registry import DATA_SAMPLERS


class SeededIndex(int):
    """A dataset index that carries the seed of its sample's augmentations (it indexes like an int)."""

    def __new__(cls, index: int, seed: int) -> 'SeededIndex':
        obj = super().__new__(cls, index)
        obj.seed = seed
        return obj

    def __reduce__(self):  # pickled to the data workers with its seed
        return SeededIndex, (int(self), self.seed)


class SeededPipeline:
    """A dataset's pipeline run with every random generator seeded from the sample's :class:`SeededIndex`.

    Python's, numpy's and torch's CPU generators are seeded before the
    pipeline and restored after it, so the process's own random streams
    (the main process's when ``num_workers=0``) are left as they were. An
    index without a seed (``dataset[i]`` outside the sampler) runs the
    pipeline unseeded.
    """

    def __init__(self, pipeline: Callable[[dict], dict]) -> None:
        self.pipeline = pipeline

    def __call__(self, results: dict) -> dict:
        seed = getattr(results.get('sample_idx'), 'seed', None)
        if seed is None:
            return self.pipeline(results)
        python_state, numpy_state = random.getstate(), np.random.get_state()
        with torch.random.fork_rng(devices=[]):
            random.seed(seed)
            np.random.seed(seed)
            torch.default_generator.manual_seed(seed)
            try:
                return self.pipeline(results)
            finally:
                random.setstate(python_state)
                np.random.set_state(numpy_state)


@DATA_SAMPLERS.register_module()
class SeededAugmentationSampler(DefaultSampler):
    """mmengine's DefaultSampler whose samples carry their own augmentation seed.

    Each index it yields carries the seed ``SeedSequence([seed, epoch,
    index])``, and the dataset's pipeline is wrapped in
    :class:`SeededPipeline`, which seeds every random generator from it. The
    augmented views of a sample thus depend on the seed, the epoch and the
    sample only, not on which process or data worker draws them, on
    ``num_workers`` or ``persistent_workers``, or on what ran before:

    * each epoch draws fresh augmentations (mmengine's worker seeds have no
      epoch in them: non-persistent workers repeat an epoch's draws);
    * ``--resume`` at an epoch boundary gives the views of an uninterrupted
      run, bit for bit, in every worker setting.

    Args:
        dataset: The dataset; it must have a ``pipeline`` (an mmengine
            ``BaseDataset``: ImageFolder, mmcls's ImageNet).
        shuffle: Shuffle the order each epoch (seeded by ``seed + epoch``).
        seed: The random seed (the Runner passes ``randomness.seed``).
        round_up: Pad the order to a multiple of the number of processes.
    """

    def __init__(self, dataset: Sized, shuffle: bool = True, seed: Optional[int] = None, round_up: bool = True) -> None:
        super().__init__(dataset, shuffle=shuffle, seed=seed, round_up=round_up)
        pipeline = getattr(dataset, 'pipeline', None)
        if pipeline is None:
            raise TypeError(f'SeededAugmentationSampler seeds the pipeline of the dataset it samples, but '
                            f'{type(dataset).__name__} has no `pipeline`; use it with an mmengine BaseDataset '
                            '(not a dataset wrapper), or sampler=dict(type="DefaultSampler")')
        if not isinstance(pipeline, SeededPipeline):
            dataset.pipeline = SeededPipeline(pipeline)

    def __iter__(self) -> Iterator[SeededIndex]:
        for index in super().__iter__():
            seed = int(np.random.SeedSequence([self.seed % 2**32, self.epoch, index]).generate_state(1)[0])
            yield SeededIndex(index, seed)
