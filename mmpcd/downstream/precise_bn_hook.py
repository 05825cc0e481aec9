import itertools
from typing import List, Optional, Sequence

import torch
from mmdet.registry import HOOKS
from mmengine.dist import all_reduce, get_world_size
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.runner import EpochBasedTrainLoop, IterBasedTrainLoop, Runner
from torch.nn.modules.batchnorm import _BatchNorm
from torch.utils.data import DataLoader


@HOOKS.register_module()
class PreciseBNHook(Hook):
    """Detectron2's precise BN before each evaluation (MoCo's and PixPro's fine-tuning setting, PCD Sec. 4.1).

    MoCo's detectron2 configs (``Base-RCNN-C4-BN.yaml``) and those of the
    PCD authors' NormRescale code (megvii-research/revisitAIRL,
    ``det/Base-RCNN-C4-BN.yaml``, ``det/partial_coco_R_50_FPN.yaml``) set
    ``TEST.PRECISE_BN.ENABLED: True``: before each evaluation and at the end
    of training, the BN running statistics are replaced by the mean, over
    ``num_iters`` training batches (``TEST.PRECISE_BN.NUM_ITER``, 200), of
    each batch's statistics, computed with the weights held fixed. The model
    runs as detectron2 runs it there: in training mode, on the training
    pipeline, through the loss forward (``mode='loss'``, so a two-stage
    detector's RoI head sees the sampled training RoIs), with no gradient.

    mmcls' ``PreciseBNHook`` does the same average, but calls the model in
    ``'tensor'`` mode (for mmdet's two-stage detectors: the RoI head on the
    test-time proposals instead of the sampled RoIs), preprocesses the batches
    as test data, iterates the training loop's own loader (which, with
    persistent workers, resets the loop's iterator) and runs on its own
    interval rather than before the evaluations; hence this hook.

    The statistics are computed on a loader of its own, built once from the
    config's ``train_dataloader`` (without persistent workers), as detectron2
    builds a second training loader for it. With SyncBN each batch's
    statistics are already those of the global batch; with plain BN in
    several processes the per-process averages are averaged. The hook runs in
    ``after_train_iter`` / ``after_train_epoch`` at priority ABOVE_NORMAL, so
    the checkpoint written at that step (``CheckpointHook``, VERY_LOW) holds
    the precise statistics.

    Args:
        num_iters (int): Training batches (per process) to average over.
            Defaults to 200 (detectron2's ``TEST.PRECISE_BN.NUM_ITER``: 200
            batches of 16 images on 8 GPUs).
    """

    priority = 'ABOVE_NORMAL'

    def __init__(self, num_iters: int = 200) -> None:
        if isinstance(num_iters, bool) or not isinstance(num_iters, int) or num_iters < 1:
            raise ValueError(f'PreciseBNHook: num_iters must be a positive integer, got {num_iters!r}')
        self.num_iters = num_iters
        self._loader: Optional[DataLoader] = None

    def after_train_iter(self, runner: Runner, batch_idx: int, data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        """Update the statistics when the iteration-based loop evaluates next (or ends)."""
        loop = runner.train_loop
        if isinstance(loop, IterBasedTrainLoop) and self._evaluates_after(runner, runner.iter + 1, loop.max_iters):
            self.update_stats(runner)

    def after_train_epoch(self, runner: Runner) -> None:
        """Update the statistics when the epoch-based loop evaluates next (or ends)."""
        loop = runner.train_loop
        if isinstance(loop, EpochBasedTrainLoop) and self._evaluates_after(runner, runner.epoch + 1, loop.max_epochs):
            self.update_stats(runner)

    @staticmethod
    def _evaluates_after(runner: Runner, done: int, last: int) -> bool:
        """Whether training ends, or the train loop evaluates, after ``done`` iterations (epochs).

        The condition of mmengine's ``IterBasedTrainLoop.run`` /
        ``EpochBasedTrainLoop.run``; the end of training counts even without a
        validation loop (detectron2 also updates at the last iteration).
        """
        loop = runner.train_loop
        return done == last or (runner.val_loop is not None and done >= loop.val_begin
                                and done % loop.val_interval == 0)

    def _dataloader(self, runner: Runner) -> DataLoader:
        """A training loader of the hook's own, built from the config at the first use."""
        if self._loader is None:
            cfg = runner.cfg.get('train_dataloader')
            if not cfg:
                raise RuntimeError('PreciseBNHook computes the statistics on the config\'s train_dataloader, and '
                                   'the runner\'s config has none (build the runner with Runner.from_cfg or pass '
                                   'cfg=...)')
            cfg = dict(cfg, persistent_workers=False)
            self._loader = runner.build_dataloader(cfg, seed=runner.seed)
        return self._loader

    @torch.no_grad()
    def update_stats(self, runner: Runner) -> None:
        """Replace every BN's running mean and variance by their average over ``num_iters`` training batches."""
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        was_training = model.training
        model.train()  # what the model's own train() leaves in eval mode (norm_eval, frozen stages) stays so
        layers: List[_BatchNorm] = [
            m for m in model.modules() if isinstance(m, _BatchNorm) and m.training and m.track_running_stats
        ]
        if not layers:
            model.train(was_training)
            print_log('PreciseBNHook: no BN layer in training mode, nothing to update', logger='current')
            return
        means = [torch.zeros_like(bn.running_mean) for bn in layers]
        variances = [torch.zeros_like(bn.running_var) for bn in layers]
        momenta = [bn.momentum for bn in layers]
        for bn in layers:
            bn.momentum = 1.  # the running statistics become those of the last batch
        batches = 0
        try:
            for data in itertools.islice(self._dataloader(runner), self.num_iters):
                model(**model.data_preprocessor(data, True), mode='loss')
                for mean, var, bn in zip(means, variances, layers):
                    mean += bn.running_mean
                    var += bn.running_var
                batches += 1
        finally:
            for bn, momentum in zip(layers, momenta):
                bn.momentum = momentum
            model.train(was_training)
        if batches == 0:
            raise RuntimeError('PreciseBNHook: the training data loader gave no batch')
        self._set_stats(layers, [m / batches for m in means], [v / batches for v in variances])
        print_log(
            f'PreciseBNHook: running statistics of {len(layers)} BN layers set to their mean over '
            f'{batches} training batches', logger='current')

    @staticmethod
    def _set_stats(layers: Sequence[_BatchNorm], means: List[torch.Tensor], variances: List[torch.Tensor]) -> None:
        """Write the averages, averaged over the processes too (identical already with SyncBN)."""
        for bn, mean, var in zip(layers, means, variances):
            if get_world_size() > 1:
                all_reduce(mean, op='mean')
                all_reduce(var, op='mean')
            bn.running_mean.copy_(mean)
            bn.running_var.copy_(var)
