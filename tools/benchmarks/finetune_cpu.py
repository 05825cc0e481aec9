"""The CPU fine-tuning benchmark: Table 1's protocol (export, fine-tune every layer with mmseg / mmdet, score on val)
on the dense labels of data/pets_mini, for the dense benchmark's students.

    python tools/benchmarks/finetune_cpu.py --docs        # every row, 3 seeds; writes docs/finetune_benchmark_*
    python tools/benchmarks/finetune_cpu.py --rows 'random initialisation' PCD --seeds 1 --tasks segmentation
    python tools/benchmarks/finetune_cpu.py --quick --rows 'random initialisation' PCD --seeds 1 --work-dir /tmp/q
    python tools/benchmarks/finetune_cpu.py --rows 'random initialisation' PCD --seeds 1 --tasks segmentation \
        --segmentation-iters 500 --work-dir work_dirs/finetune_cpu_500it     # the FCN config's own, shorter schedule

The students are the pre-training runs of tools/benchmarks/dense_cpu.py (reused from --pretrain-dir, trained there
if missing); each is exported with tools/model_converters/export_student.py and fine-tuned by tools/train.py on
configs/benchmarks/mmsegmentation/pets/ (FCN, mIoU) and configs/benchmarks/mmdetection/pets/ (Mask R-CNN FPN, AP^bbox
and AP^mask). Finished fine-tunings in --work-dir are reused (keyed by config, weights, seed and code), so the
benchmark can be completed in parts. See docs/finetune_benchmark.md.
"""
import argparse
import json
import os.path as osp

from mmpcd.benchmarks import finetune as bench
from mmpcd.paths import REPO_ROOT


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--rows', nargs='+', choices=bench.ROWS, default=list(bench.ROWS))
    parser.add_argument('--seeds', type=int, default=3, help='pre-training seeds 0..N-1, one fine-tuning each')
    parser.add_argument('--tasks', nargs='+', choices=sorted(bench.TASKS), default=list(bench.TASKS))
    parser.add_argument('--quick', action='store_true', help='short pre-trainings and fine-tunings, for the test')
    parser.add_argument(
        '--segmentation-iters', type=int, default=bench.SEGMENTATION_ITERS,
        help="the FCN schedule's length, its shape kept: the benchmark's (chosen on random init's "
        "train loss), not the config's own 500 (default: %(default)s)")
    parser.add_argument('--work-dir', default='work_dirs/finetune_cpu')
    parser.add_argument('--pretrain-dir', default='work_dirs/dense_cpu', help="the dense benchmark's work dir")
    parser.add_argument('--docs', action='store_true', help='write the table and the figures into docs/')
    parser.add_argument('--figures-only', action='store_true', help='no training: from --work-dir/results.json')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.quick and args.segmentation_iters != bench.SEGMENTATION_ITERS:
        raise SystemExit('--quick has its own FCN schedule of 60 iterations: leave out --segmentation-iters')
    if args.figures_only:
        with open(osp.join(args.work_dir, 'results.json')) as f:
            results = json.load(f)
    else:
        results = bench.run(args.work_dir, args.pretrain_dir, args.rows, list(range(args.seeds)), args.tasks,
                            args.quick, args.segmentation_iters)
    out = osp.join(REPO_ROOT, 'docs', 'finetune_benchmark') if args.docs else osp.join(args.work_dir, 'summary')
    text = bench.table(results)
    with open(f'{out}_table.md', 'w') as f:
        f.write(text + '\n')
    print(text)
    print('Written:', f'{out}_table.md', *bench.figures(results, out))


if __name__ == '__main__':
    main()
