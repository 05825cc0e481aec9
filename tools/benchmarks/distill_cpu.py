"""The CPU distillation benchmark: linear-probe top-1 of distilled students against their random init and the teacher.

    python tools/benchmarks/distill_cpu.py --docs            # 3 seeds x 3 rows; writes docs/ (about 65 min alone)
    python tools/benchmarks/distill_cpu.py --quick --seeds 1 --rows PCD --work-dir /tmp/q   # minutes
    python tools/benchmarks/distill_cpu.py --seeds 1 --rows DINO SSLight --work-dir work_dirs/distill_cpu_dino

Pre-trains ResNet-18 students with tools/train.py on the unlabelled train images of data/cifar10_mini (configs in
configs/pcd/cpu/; on request the peers without a teacher, DINO and SSLight: configs/{dino,sslight}/cpu/), probes
each with a linear classifier on frozen pooled features, and prints a markdown table (top-1 mean ± std over seeds,
final loss against log(K+1)); with --docs, writes it, the loss curves and the pictures of seed 0's students (feature
maps, t-SNE, ERFs; docs/analysis.md) to
docs/distillation_benchmark_{table.md,loss.png,feature_maps.png,tsne.png,erf.png}. See docs/distillation_benchmark.md.

    python tools/benchmarks/distill_cpu.py --docs --figures-only --work-dir work_dirs/distill_cpu  # redraw, no training
"""
import argparse
import json
import os.path as osp

from mmpcd.benchmarks import distillation as bench
from mmpcd.benchmarks.distillation_figures import figures
from mmpcd.paths import REPO_ROOT

ALL_ROWS = {**bench.ROWS, **bench.PEER_ROWS}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--seeds', type=int, default=3, help='runs per row, seeds 0..N-1')
    parser.add_argument(
        '--rows', nargs='+', choices=sorted(ALL_ROWS), default=sorted(bench.ROWS),
        help='rows that pre-train a student (random init and a released teacher are always scored); '
        f'default: the PCD rows, {sorted(bench.ROWS)}')
    parser.add_argument('--quick', action='store_true', help=f'stop each run early ({bench.QUICK_OPTIONS}), for tests')
    parser.add_argument('--work-dir', default='work_dirs/distill_cpu')
    parser.add_argument('--docs', action='store_true', help='write the table, the curves and the figures into docs/')
    parser.add_argument('--figures', action='store_true',
                        help="also draw seed 0's feature maps, t-SNE and ERFs (always with --docs)")
    parser.add_argument(
        '--figures-only', action='store_true',
        help='no training: the table and curves from the results.json of --work-dir, the figures '
        'from its finished runs (the t-SNE titles probe seed 0 again)')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    rows = {row: ALL_ROWS[row] for row in sorted(args.rows, key=list(ALL_ROWS).index)}
    if args.figures_only:
        with open(osp.join(args.work_dir, 'results.json')) as f:
            results = json.load(f)
    else:
        results = bench.run(args.work_dir, list(range(args.seeds)), rows, bench.QUICK_OPTIONS if args.quick else None)
    out = osp.join(REPO_ROOT, 'docs', 'distillation_benchmark') if args.docs else osp.join(args.work_dir, 'summary')
    text = bench.table(results)
    with open(f'{out}_table.md', 'w') as f:
        f.write(text + '\n')
    bench.plot(results, f'{out}_loss.png')
    print(text)
    print(f'Written: {out}_table.md, {out}_loss.png')
    if args.docs or args.figures or args.figures_only:
        print(json.dumps(figures(args.work_dir, results, out, seed=results['seeds'][0]), indent=1, default=str))
        print(f'Written: {out}_feature_maps.png, {out}_tsne.png, {out}_erf.png')


if __name__ == '__main__':
    main()
