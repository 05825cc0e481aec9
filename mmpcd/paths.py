"""Where the repository's files are, for the code that runs its configs, tools and data (mmpcd is used from a
source checkout, installed editable)."""
import os.path as osp

#: The repository root: ``configs/``, ``tools/`` and ``data/`` are under it.
REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
