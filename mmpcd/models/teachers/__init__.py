from .checkpoint_formats import RANDOM_TEACHER_KEY, TEACHER_FORMATS, load_teacher_checkpoint
from .random_checkpoints import RANDOM_CHECKPOINTS

__all__ = ['RANDOM_TEACHER_KEY', 'TEACHER_FORMATS', 'load_teacher_checkpoint', 'RANDOM_CHECKPOINTS']
