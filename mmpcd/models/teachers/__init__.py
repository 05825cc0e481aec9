from .checkpoint_formats import TEACHER_FORMATS, TeacherFormat, load_teacher_checkpoint
from .frozen_teacher import FrozenTeacher

__all__ = ['TEACHER_FORMATS', 'TeacherFormat', 'load_teacher_checkpoint', 'FrozenTeacher']
