"""A grid of equal square panels whose PNG size follows from the grid: ``PANEL_PX`` pixels a panel."""
import os.path as osp
from typing import Tuple

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..fileio import atomic_write  # noqa: E402

#: Side of one panel, in inches at ``DPI``: each panel is ``PANEL_PX`` x ``PANEL_PX`` pixels of the PNG.
PANEL_INCHES, DPI = 2.4, 100
PANEL_PX = int(PANEL_INCHES * DPI)


def panel_grid(rows: int, cols: int) -> Tuple[plt.Figure, np.ndarray]:
    """A figure of ``rows`` x ``cols`` panels, ``cols * PANEL_PX`` x ``rows * PANEL_PX`` pixels; axes (rows, cols)."""
    fig, axes = plt.subplots(rows, cols, figsize=(cols * PANEL_INCHES, rows * PANEL_INCHES), dpi=DPI, squeeze=False)
    fig.subplots_adjust(left=0.02, right=0.98, bottom=0.02, top=0.98 - 0.14 / rows, wspace=0.08, hspace=0.22)
    return fig, axes


def save(fig: plt.Figure, path: str) -> None:
    """Write the figure all at once, in the format of the extension of ``path``, and close it."""
    with atomic_write(path) as f:
        fig.savefig(f, format=osp.splitext(path)[1][1:] or 'png', dpi=DPI)
    plt.close(fig)
