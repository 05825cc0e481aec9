"""The CPU distillation benchmark's pictures of what the students learned, drawn with the analysis tools.

From the finished runs of one seed in a benchmark work dir: ``layer4`` maps of
the PCD and the image-level students on COCO images (the PCD appendix's
Fig. 1), t-SNE of the pooled features of the random init, the students and
the teacher with their linear-probe top-1 (the DisCo appendix), and the ERF
of the random and the PCD student, backbone alone and with φ + MHSA (the PCD
paper's Fig. 2). docs/analysis.md shows and measures them.
"""
import dataclasses
import os.path as osp
from typing import Dict

from mmengine.config import Config

from ..analysis import list_images, load_model, load_raw_images
from ..evaluation.embeddings import pooled_val_features
from ..paths import REPO_ROOT
from ..visualization.embeddings import draw_embeddings
from ..visualization.erf import draw_erfs
from ..visualization.feature_maps import draw_feature_maps
from . import distillation as bench

#: COCO val images and their resolution for the feature maps and the ERF (7 x 7 ``layer4`` maps, as at 224 px
#: in the paper's figures; the students were trained at 64 px).
IMAGES, SIZE, FEATURE_MAP_IMAGES = osp.join(REPO_ROOT, 'data', 'coco_mini', 'val'), 224, 4


def last_checkpoint(run_dir: str) -> str:
    """The checkpoint named by a finished run's ``last_checkpoint``: mmengine writes its absolute path, so for a run
    dir moved since, the file of that name in ``run_dir``.

    Raises:
        FileNotFoundError: the run did not finish (no ``last_checkpoint``, or the file it names is gone).
    """
    marker = osp.join(run_dir, 'last_checkpoint')
    if not osp.isfile(marker):
        raise FileNotFoundError(f'{run_dir} holds no finished run (no last_checkpoint): run the benchmark first')
    with open(marker) as f:
        path = f.read().strip()
    if osp.isfile(path):
        return path
    moved = osp.join(run_dir, osp.basename(path))
    if not osp.isfile(moved):
        raise FileNotFoundError(f'{marker} names {path}, which does not exist (nor does {moved})')
    return moved


def figures(work_dir: str, results: dict, prefix: str, seed: int = 0) -> Dict[str, dict]:
    """Draw ``{prefix}_{feature_maps,tsne,erf}.png`` from the runs of ``seed`` in ``work_dir``.

    Args:
        work_dir: The benchmark's work dir (its runs' ``init.pth`` and last checkpoints are read, never written).
        results: Its ``results.json``: the rows run and the probe resolution.
        prefix: Output path prefix.
        seed: The seed whose runs are drawn.

    Returns:
        The numbers the tools measure: ``feature_maps`` (PCA variance
        shares), ``tsne`` (linear-probe top-1 and RankMe), ``erf`` (radii, support).
    """

    def run_dir(row: str) -> str:
        return osp.join(work_dir, bench.run_dir_name(row, seed))

    students = {
        row: load_model(row, bench.ROWS[row], last_checkpoint(run_dir(row)))
        for row in ('PCD', 'image-level PCD') if row in results['loss']
    }
    first = next(iter(results['loss']))
    random = load_model(bench.RANDOM, bench.ROWS[first], osp.join(run_dir(first), 'init.pth'))
    teacher = (dataclasses.replace(random, label='EfficientNet-Lite0'), 'teacher')
    data_root = Config.fromfile(bench.ROWS[first]).train_dataloader.dataset.data_root
    numbers = {}
    images = load_raw_images(list_images([IMAGES]), SIZE)
    shares = draw_feature_maps([(m, 'backbone') for m in students.values()], images[:FEATURE_MAP_IMAGES],
                               f'{prefix}_feature_maps.png')
    numbers['feature_maps'] = {title: values.tolist() for title, values in shares.items()}
    measured = pooled_val_features([(random, 'backbone'), *[(m, 'backbone') for m in students.values()], teacher],
                                   osp.join(REPO_ROOT, data_root), results['size'])
    draw_embeddings(*measured, f'{prefix}_tsne.png')
    numbers['tsne'] = measured.numbers
    erf_models = [(random, 'backbone'), (random, 'student')]
    if 'PCD' in students:
        erf_models += [(students['PCD'], 'backbone'), (students['PCD'], 'student')]
    numbers['erf'] = draw_erfs(erf_models, images, f'{prefix}_erf.png')
    return numbers
