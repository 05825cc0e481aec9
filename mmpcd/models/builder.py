"""Build a config's model as ``tools/train.py`` does: the one place the benchmarks and the analysis tools get it.

It lives below both :mod:`mmpcd.evaluation` and :mod:`mmpcd.analysis`, which
import it (they import each other's modules otherwise in a circle).
"""
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope
from mmengine.runner import set_random_seed

from mmselfsup.registry import MODELS


def build_model(cfg: Config, seed: int) -> torch.nn.Module:
    """The config's model, initialised as ``tools/train.py`` initialises it with ``--seed seed``, in eval mode.

    Args:
        cfg: A training config (its ``model`` and ``default_scope``).
        seed: The seed set before building, as ``tools/train.py --seed``.
    """
    init_default_scope(cfg.get('default_scope', 'mmselfsup'))
    set_random_seed(seed)
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel('WARNING')  # init_weights logs every parameter; the training run's log has it all
    try:
        model = MODELS.build(cfg.model)
        model.init_weights()
    finally:
        logger.setLevel(level)
    return model.eval()
