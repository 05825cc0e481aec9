from .checkpoint_formats import (PACKAGED_CHECKPOINTS, RANDOM_TEACHER_KEY, TEACHER_FORMATS,
                                 load_teacher_checkpoint)
from .frozen_teacher import FrozenTeacher
from .random_checkpoints import RANDOM_CHECKPOINTS

__all__ = ['PACKAGED_CHECKPOINTS', 'RANDOM_TEACHER_KEY', 'TEACHER_FORMATS', 'load_teacher_checkpoint',
           'FrozenTeacher', 'RANDOM_CHECKPOINTS']
