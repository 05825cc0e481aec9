from .embeddings import embed_2d, plot_embeddings
from .erf import plot_erf
from .feature_maps import channel_mean, pca_rgb, plot_feature_maps
from .loss_curves import chance_loss, plot_loss_curves, plot_training_curves

__all__ = [
    'chance_loss', 'channel_mean', 'embed_2d', 'pca_rgb', 'plot_embeddings', 'plot_erf', 'plot_feature_maps',
    'plot_loss_curves', 'plot_training_curves'
]
