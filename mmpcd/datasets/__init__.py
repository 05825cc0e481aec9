from .image_folder import ImageFolder
from .seeded_sampler import SeededAugmentationSampler, SeededIndex, SeededPipeline

__all__ = ['ImageFolder', 'SeededAugmentationSampler', 'SeededIndex', 'SeededPipeline']
