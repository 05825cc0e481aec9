from mmengine.hooks import Hook

from mmselfsup.registry import HOOKS
from mmselfsup.utils import get_model
from ...models.heads.dino_head import teacher_temperature


@HOOKS.register_module()
class DINOHook(Hook):
    """Sets DINO's epoch-dependent values on the model before each epoch (resumed runs included).

    * ``head.teacher_temp``: :func:`teacher_temperature` (linear warm-up, facebookresearch/dino
      ``main_dino.py``: ``--warmup_teacher_temp``, ``--teacher_temp``, ``--warmup_teacher_temp_epochs``);
    * the projection's last layer is frozen for the first ``freeze_last_layer_epochs`` epochs
      (``--freeze_last_layer``, ``utils.cancel_gradients_last_layer``).

    Args:
        warmup_teacher_temp: Teacher temperature of the first epoch.
        teacher_temp: Teacher temperature after the warm-up.
        warmup_epochs: Epochs of the warm-up.
        freeze_last_layer_epochs: Epochs with the last layer frozen.
    """

    priority = 'VERY_HIGH'

    def __init__(self, warmup_teacher_temp: float = 0.04, teacher_temp: float = 0.07, warmup_epochs: int = 30,
                 freeze_last_layer_epochs: int = 1) -> None:
        self.warmup_teacher_temp = warmup_teacher_temp
        self.teacher_temp = teacher_temp
        self.warmup_epochs = warmup_epochs
        self.freeze_last_layer_epochs = freeze_last_layer_epochs

    def before_train_epoch(self, runner) -> None:
        model = get_model(runner.model)
        model.head.teacher_temp = teacher_temperature(runner.epoch, self.warmup_teacher_temp, self.teacher_temp,
                                                      self.warmup_epochs)
        model.neck.freeze_last_layer(runner.epoch < self.freeze_last_layer_epochs)
