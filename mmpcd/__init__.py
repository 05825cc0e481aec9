"""mmpcd: Pixel-Wise Contrastive Distillation as an mmselfsup plugin."""
from . import compat
from .version import __version__

compat.apply()

from . import datasets, engine, models  # noqa: E402,F401  (registers the modules)

__all__ = ['__version__']
