from .linear_probe import fit_logistic_regression, linear_probe, load_images, pooled_features, read_labelled_list

__all__ = ['fit_logistic_regression', 'linear_probe', 'load_images', 'pooled_features', 'read_labelled_list']
