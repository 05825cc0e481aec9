"""Test and demo utilities: teacher checkpoints with random weights in the released layouts."""
from .random_checkpoints import (RANDOM_TEACHER_KEY, RANDOM_TEACHERS, barlowtwins_resnet50, byol_airl_resnet50,
                                 byol_resnet50, efficientnet_lite0, mocov3_mlp, mocov3_resnet50, mocov3_vit_base,
                                 random_teacher, randomize_bn_statistics, swav_resnet50)

__all__ = [
    'RANDOM_TEACHER_KEY', 'RANDOM_TEACHERS', 'barlowtwins_resnet50', 'byol_airl_resnet50', 'byol_resnet50',
    'efficientnet_lite0', 'mocov3_mlp', 'mocov3_resnet50', 'mocov3_vit_base', 'random_teacher',
    'randomize_bn_statistics', 'swav_resnet50'
]
