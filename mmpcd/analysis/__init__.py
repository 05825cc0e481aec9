"""What a student learned, as numbers: ERFs, principal components, RankMe, training logs, what PCD's pixel MHSA
does to its pixels; the models they come from."""
from .attention import attention_entropy, gradient_alignment, mhsa_statistics, pixel_cosine, pixel_spread
from .erf import effective_receptive_field, mass_centre, mass_radius, support
from .images import (add_image_arguments, add_size_argument, images_from_arguments, list_images, load_raw_images,
                     whole_number)
from .models import AnalysedModel, add_model_arguments, load_model, models_from_arguments
from .pca import pca
from .rankme import rankme
from .training_logs import log_files, queue_length, read_training_log

__all__ = [
    'AnalysedModel', 'add_image_arguments', 'add_model_arguments', 'add_size_argument', 'attention_entropy',
    'effective_receptive_field', 'gradient_alignment', 'images_from_arguments', 'list_images', 'load_model',
    'load_raw_images', 'log_files', 'mass_centre', 'mass_radius', 'mhsa_statistics', 'models_from_arguments', 'pca',
    'pixel_cosine', 'pixel_spread', 'queue_length', 'rankme', 'read_training_log', 'support', 'whole_number'
]
