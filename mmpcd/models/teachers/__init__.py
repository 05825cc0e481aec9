from .checkpoint_formats import (PACKAGED_CHECKPOINTS, RANDOM_TEACHER_KEY, TEACHER_FORMATS,
                                 load_teacher_checkpoint)
from .random_checkpoints import RANDOM_CHECKPOINTS

__all__ = ['PACKAGED_CHECKPOINTS', 'RANDOM_TEACHER_KEY', 'TEACHER_FORMATS', 'load_teacher_checkpoint',
           'RANDOM_CHECKPOINTS']
