"""The CPU dense benchmark: mIoU of frozen student maps on pets_mini, pixel-level against image-level distillation.

    python tools/benchmarks/dense_cpu.py --docs                     # every row; writes docs/dense_benchmark_*
    python tools/benchmarks/dense_cpu.py --quick --rows PCD --seeds 1 --work-dir /tmp/q   # minutes

Pre-trains ResNet-18 students with tools/train.py on the unlabelled train images of data/pets_mini (configs in
configs/{pcd,seed,disco}/dense_cpu/), probes each frozen backbone map with a linear per-pixel classifier and
Hummingbird's nearest-neighbour label transfer on the pets segmentation labels, and prints a markdown table (mIoU and
pixel accuracy, mean ± std over seeds) beside the random init, the teacher's map and its broadcast pooled vector. The
core rows (PCD, image-level PCD, SEED, PCD w/o MHSA) run --seeds seeds, the others --extra-seeds. Finished runs and
probes in --work-dir are reused, so the benchmark can be completed in parts. See docs/dense_benchmark.md.

    python tools/benchmarks/dense_cpu.py --docs --figures-only      # redraw from the work dir, no training
"""
import argparse
import json
import os.path as osp

from mmpcd.benchmarks import dense as bench
from mmpcd.paths import REPO_ROOT

ALL_ROWS = {**bench.ROWS, **bench.SMALL_MAP_ROWS}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        '--rows', nargs='+', choices=sorted(ALL_ROWS), default=list(ALL_ROWS),
        help='rows that pre-train a student (the random init and the teacher rows are always scored); '
        'the first one given also gives the random row')
    parser.add_argument('--seeds', type=int, default=3, help=f'runs of the core rows {bench.CORE_ROWS}, seeds 0..N-1')
    parser.add_argument('--extra-seeds', type=int, default=1, help='runs of the other rows')
    parser.add_argument(
        '--quick', action='store_true',
        help=f'stop each run early ({bench.QUICK_OPTIONS}) and fit the linear readout on '
        f'{bench.QUICK_PIXELS_PER_IMAGE} pixels an image, for tests')
    parser.add_argument('--work-dir', default='work_dirs/dense_cpu')
    parser.add_argument('--docs', action='store_true', help='write the table and the figures into docs/')
    parser.add_argument('--figures-only', action='store_true',
                        help='no training: the table and figures from the results.json of --work-dir')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    rows = {row: ALL_ROWS[row] for row in args.rows}
    if args.figures_only:
        with open(osp.join(args.work_dir, 'results.json')) as f:
            results = json.load(f)
    else:
        seeds = {row: list(range(args.seeds if row in bench.CORE_ROWS else args.extra_seeds)) for row in rows}
        seeds[args.rows[0]] = list(range(max(args.seeds, args.extra_seeds)))
        quick = dict(options=bench.QUICK_OPTIONS, pixels_per_image=bench.QUICK_PIXELS_PER_IMAGE) if args.quick else {}
        results = bench.run(args.work_dir, rows, seeds, **quick)
    out = osp.join(REPO_ROOT, 'docs', 'dense_benchmark') if args.docs else osp.join(args.work_dir, 'summary')
    text = bench.table(results)
    with open(f'{out}_table.md', 'w') as f:
        f.write(text + '\n')
    print(text)
    print('Written:', f'{out}_table.md', *bench.figures(args.work_dir, results, out))


if __name__ == '__main__':
    main()
