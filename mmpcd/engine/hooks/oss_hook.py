from mmengine.hooks import Hook

from mmselfsup.registry import HOOKS
from mmselfsup.utils import get_model
from ...models.utils import grl_alpha


@HOOKS.register_module()
class OSSHook(Hook):
    """Sets OSS's step- and epoch-dependent values on the model (OSS appendix A.1).

    * before each iteration n of N: the gradient reversal scale of the feature classifier,
      α(n) = 2 / (1 + exp(-10 n / N)) - 1 (:func:`grl_alpha`; "Feature classifier"), when the model has one;
    * before each epoch: the queue is filled (and used once full) from epoch ``queue_start_epoch`` on, counted
      from 0 as SwAV's ``epoch_queue_starts`` ("from the 15th training epochs", "Online clustering");
    * the shared prototypes stay fixed for the first ``freeze_prototypes_iters`` iterations, as in SwAV's
      small-batch training that OSS takes its settings from (``--freeze_prototypes_niters 5005``, one ImageNet
      epoch at batch 256; mmselfsup's ``SwAVHook`` ``frozen_layers_cfg``), when the model has its own.

    Args:
        queue_start_epoch: The first epoch that fills the queue (15).
        freeze_prototypes_iters: Iterations with the prototypes frozen (0: none).
    """

    priority = 'VERY_HIGH'

    def __init__(self, queue_start_epoch: int = 15, freeze_prototypes_iters: int = 0) -> None:
        self.queue_start_epoch = queue_start_epoch
        self.freeze_prototypes_iters = freeze_prototypes_iters

    def before_train_epoch(self, runner) -> None:
        get_model(runner.model).head.queue_active = runner.epoch >= self.queue_start_epoch

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        model = get_model(runner.model)
        classifier = getattr(model, 'classifier', None)
        if classifier is not None:
            classifier.grl.alpha = grl_alpha(runner.iter, runner.max_iters)
        if model.head.prototypes is not None:
            model.head.prototypes.weight.requires_grad_(runner.iter >= self.freeze_prototypes_iters)
