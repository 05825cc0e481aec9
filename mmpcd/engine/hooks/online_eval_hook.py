"""See the student learn while it trains: k-NN top-1 and dense nearest-neighbour mIoU every few epochs."""
import json
import logging
import os.path as osp
import time
import traceback
from typing import Callable, Dict, List, Optional, Tuple

import torch
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from mmselfsup.registry import HOOKS
from ...datasets.dense_labels import read_classes
from ...datasets.image_lists import load_images, read_labelled_list
from ...evaluation.dense_probe import DenseSplit, dense_features, fit_knn_readout, load_dense_split, score_predictions
from ...evaluation.knn import KNN_NEIGHBOURS, KNN_TEMPERATURE, knn_top1
from ...evaluation.linear_probe import pooled_features
from ...fileio import atomic_write

#: Where the results go in the work dir, and the prefix of the scalars.
RESULTS_FILE, SCALAR_PREFIX = 'online_eval.json', 'online_eval/'


class OnlineEvalError(RuntimeError):
    """Online evaluations failed during a run whose training and checkpoints went on."""


def model_normalization(preprocessor: torch.nn.Module) -> Tuple[List[float], List[float], bool]:
    """The normalization a model's data preprocessor applies, for images loaded as RGB.

    The pipelines load BGR images (mmcv's default); the model sees RGB when
    the preprocessor converts channels (``bgr_to_rgb=True``, as every config
    here) and BGR otherwise.

    Returns:
        ``(mean, std, bgr)``: mean and std (0-255 scale) in RGB order, and whether the model takes BGR input.
    """
    bgr = not getattr(preprocessor, '_channel_conversion', False)
    if not getattr(preprocessor, '_enable_normalize', False):
        return [0.0] * 3, [1.0] * 3, bgr
    mean, std = preprocessor.mean.flatten().tolist(), preprocessor.std.flatten().tolist()
    return (mean[::-1], std[::-1], bgr) if bgr else (mean, std, bgr)


@HOOKS.register_module()
class OnlineEvalHook(Hook):
    """Evaluate the student backbone's last map on labelled data every ``interval`` epochs and after the last one.

    Two training-free probes of the frozen student (``model.backbone``, its
    last output), each optional:

    - classification: the weighted k-NN top-1 (%) of its global-average-pooled
      map (:func:`~mmpcd.evaluation.knn.knn_top1`, DINO's protocol), the bank
      from ``data_root/meta/train.txt``, scored on ``data_root/meta/val.txt``
      (ImageNet-style lists, ``relative/path label`` a line, images under
      ``data_root/train`` and ``data_root/val``);
    - dense: the mIoU (%) of the dense benchmark's nearest-neighbour readout
      (:func:`~mmpcd.evaluation.dense_probe.fit_knn_readout`) of its map, on
      ``dense_data_root`` (``{train,val}/images/*.jpg``, ``labels/*.png``,
      ``classes.txt``).

    The images are loaded once, normalized as the model's data preprocessor
    does. The backbone is evaluated in eval mode without gradients, and every
    module's mode is restored afterwards: no batch-norm statistics change and
    no random number is drawn, so training goes on exactly as without the
    hook. The results are logged as the scalars ``online_eval/knn_top1`` and
    ``online_eval/dense_knn_miou`` (message hub and every visualization
    backend, at step = epoch) and kept in ``work_dir/online_eval.json``
    (``{epoch: {knn_top1, dense_knn_miou, seconds}}``, ``seconds`` the time of
    the evaluation without the one-off image loading; a resumed run keeps the
    epochs up to the resumed one). Only the main process evaluates.

    Nothing the hook does can cost training. Everything it reads (the lists,
    images, labels and classes) is read and checked in ``before_train``,
    before the first step, whatever ``at_start``: a wrong path or an empty
    list stops the run there, naming the file. Its priority is ``LOWEST``:
    after an epoch, the CheckpointHook has saved that epoch's checkpoint
    before the evaluation starts. An evaluation after an epoch that fails
    all the same (the model's forward, memory) is logged as an error with
    its traceback and training goes on (in a distributed run, the other
    processes would otherwise wait for this one until their timeout); the
    run then ends with :class:`OnlineEvalError` naming the failed epochs,
    once training and its last checkpoint are done.

    Args:
        data_root: The labelled classification data, or None for none.
        image_size: Side (px) its images are resized to.
        dense_data_root: The labelled dense data, or None for none.
        dense_image_size: Side (px) the dense images are resized to (the dense benchmark's 224: a 7 x 7 map).
        interval: Evaluate after every ``interval`` epochs (and after the last).
        at_start: Also evaluate before the first epoch (epoch 0: the initialisation).
        neighbours: k of the k-NN classifier.
        temperature: T of its weights exp(cosine / T).
        batch_size: Images per forward pass.
    """

    priority = 'LOWEST'

    def __init__(self, data_root: Optional[str] = None, image_size: int = 224, dense_data_root: Optional[str] = None,
                 dense_image_size: int = 224, interval: int = 1, at_start: bool = True,
                 neighbours: int = KNN_NEIGHBOURS, temperature: float = KNN_TEMPERATURE, batch_size: int = 100) -> None:
        if data_root is None and dense_data_root is None:
            raise ValueError('OnlineEvalHook needs data_root (classification), dense_data_root (dense) or both')
        if interval < 1:
            raise ValueError(f'OnlineEvalHook: interval must be a positive number of epochs, got {interval}')
        self.data_root, self.image_size = data_root, image_size
        self.dense_data_root, self.dense_image_size = dense_data_root, dense_image_size
        self.interval, self.at_start = interval, at_start
        self.neighbours, self.temperature, self.batch_size = neighbours, temperature, batch_size
        self.results: Dict[int, Dict[str, float]] = {}
        self.failures: Dict[int, str] = {}  # epoch: the error of its evaluation
        self._loaded = False
        self._labelled: Optional[Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]] = None  # train, val
        self._dense: Optional[Tuple[DenseSplit, DenseSplit, int]] = None  # train, val, number of classes

    def before_train(self, runner) -> None:
        if not is_main_process():
            return
        self._load(self._model(runner).data_preprocessor)  # every file it reads, before the first step
        path = osp.join(runner.work_dir, RESULTS_FILE)
        if runner.epoch > 0 and osp.isfile(path):  # resumed: keep what the interrupted run measured
            with open(path) as f:
                self.results = {int(e): v for e, v in json.load(f).items() if int(e) <= runner.epoch}
        if self.at_start and runner.epoch not in self.results:
            self.evaluate(runner, runner.epoch)

    def after_train_epoch(self, runner) -> None:
        if not (is_main_process() and (self.every_n_epochs(runner, self.interval) or self.is_last_train_epoch(runner))):
            return
        epoch = runner.epoch + 1
        try:
            self.evaluate(runner, epoch)
        except Exception as err:  # the run's training and checkpoints go on; after_train reports it
            self.failures[epoch] = f'{type(err).__name__}: {err}'
            print_log(
                f'ONLINE EVALUATION FAILED after epoch {epoch}: {self.failures[epoch]}. Training goes on (the '
                f'checkpoint of this epoch, if one is due, was saved before it); the run will end with an error.\n'
                f'{traceback.format_exc()}', logger='current', level=logging.ERROR)

    def after_train(self, runner) -> None:
        if self.failures:
            failed = '; '.join(f'after epoch {epoch}: {error}' for epoch, error in self.failures.items())
            raise OnlineEvalError(
                f'OnlineEvalHook: {len(self.failures)} online evaluations failed ({failed}). Training went on and '
                f'its checkpoints are saved in {runner.work_dir}; the scores of those epochs are missing from '
                f'{RESULTS_FILE}. The log has each traceback')

    @staticmethod
    def _model(runner) -> torch.nn.Module:
        return runner.model.module if is_model_wrapper(runner.model) else runner.model

    def evaluate(self, runner, epoch: int) -> Dict[str, float]:
        """Evaluate the student now; log and keep the results under ``epoch``."""
        model = self._model(runner)
        self._load(model.data_preprocessor)
        backbone = model.backbone
        modes = [(module, module.training) for module in backbone.modules()]
        device = next(backbone.parameters()).device
        backbone.eval()
        start = time.perf_counter()
        try:
            values = self._scores(lambda x: backbone(x.to(device))[-1].float().cpu())
        finally:
            for module, training in modes:
                module.training = training
        values['seconds'] = time.perf_counter() - start
        self.results[epoch] = values
        scalars = {SCALAR_PREFIX + key: value for key, value in values.items() if key != 'seconds'}
        for key, value in scalars.items():
            runner.message_hub.update_scalar(key, value)
        runner.visualizer.add_scalars(scalars, step=epoch)
        with atomic_write(osp.join(runner.work_dir, RESULTS_FILE), 'w') as f:
            json.dump(self.results, f, indent=1)
        shown = ', '.join(f'{key} {value:.2f}' for key, value in values.items())
        print_log(f'online evaluation after epoch {epoch}: {shown}', logger='current')
        return values

    def _scores(self, feature_map: Callable[[torch.Tensor], torch.Tensor]) -> Dict[str, float]:
        values = {}
        if self._labelled is not None:
            train_x, train_y, val_x, val_y = self._labelled
            values['knn_top1'] = knn_top1(pooled_features(feature_map, train_x, self.batch_size), train_y,
                                          pooled_features(feature_map, val_x, self.batch_size), val_y, self.neighbours,
                                          self.temperature)
        if self._dense is not None:
            train, val, num_classes = self._dense
            readout = fit_knn_readout(dense_features(feature_map, train.images, self.batch_size), train.labels,
                                      num_classes)
            predictions = readout.predict(dense_features(feature_map, val.images, self.batch_size),
                                          [label.shape for label in val.labels])
            values['dense_knn_miou'] = score_predictions(predictions, val.labels, num_classes)['miou']
        return values

    def _load(self, preprocessor: torch.nn.Module) -> None:
        """Read the images and labels once (before the first step), normalized for the model, and keep them."""
        if self._loaded:
            return
        start = time.perf_counter()
        mean, std, bgr = model_normalization(preprocessor)

        def ordered(images: torch.Tensor) -> torch.Tensor:
            return images.flip(1) if bgr else images

        def labelled(split: str) -> Tuple[torch.Tensor, torch.Tensor]:
            paths, labels = read_labelled_list(osp.join(self.data_root, 'meta', f'{split}.txt'),
                                               osp.join(self.data_root, split))
            return ordered(load_images(paths, self.image_size, mean, std)), labels

        def dense(split: str, num_classes: int) -> DenseSplit:
            data = load_dense_split(self.dense_data_root, split, self.dense_image_size, mean, std, num_classes)
            return data._replace(images=ordered(data.images))

        if self.data_root is not None:
            self._labelled = (*labelled('train'), *labelled('val'))
        if self.dense_data_root is not None:
            num_classes = len(read_classes(self.dense_data_root))
            self._dense = (dense('train', num_classes), dense('val', num_classes), num_classes)
        self._loaded = True
        print_log(f'online evaluation: images loaded in {time.perf_counter() - start:.1f} s', logger='current')
