from .linear_probe import fit_logistic_regression, linear_probe, pooled_features

__all__ = ['fit_logistic_regression', 'linear_probe', 'pooled_features']
