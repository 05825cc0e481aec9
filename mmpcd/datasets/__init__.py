from .image_folder import ImageFolder
from .seeded_sampler import SeededAugmentationSampler, SeededIndex, SeededPipeline
from .transforms import BadImageError, LoadImageFromFileChecked

__all__ = ['ImageFolder', 'SeededAugmentationSampler', 'SeededIndex', 'SeededPipeline', 'BadImageError',
           'LoadImageFromFileChecked']
