"""The scores OnlineEvalHook kept in work dirs (k-NN top-1, dense mIoU) against epoch.

    python tools/analysis_tools/plot_online_eval.py work_dirs/online_eval_cpu --out docs/online_eval_knn.png

Reads <work_dir>/online_eval.json of each run and prints each score's first and last value. See docs/online_eval.md.
"""
import argparse
import os.path as osp
from typing import Dict, List, Optional

from mmpcd.visualization.online_eval import plot_online_eval, read_online_eval


def main(argv: Optional[List[str]] = None) -> Dict[str, dict]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('work_dirs', nargs='+', help='work dirs of runs with OnlineEvalHook')
    parser.add_argument('--labels', nargs='+', help='one per work dir (default: the work dir names)')
    parser.add_argument('--title', default='online evaluation')
    parser.add_argument('--out', default='online_eval.png', help='output PNG')
    args = parser.parse_args(argv)
    labels = args.labels or [osp.basename(osp.normpath(work_dir)) for work_dir in args.work_dirs]
    if len(labels) != len(args.work_dirs):
        raise SystemExit(f'--labels takes one label per work dir: {len(args.work_dirs)} work dirs, {len(labels)} '
                         'labels')
    runs = {label: read_online_eval(work_dir) for label, work_dir in zip(labels, args.work_dirs)}
    for label, results in runs.items():
        (first, first_values), (last, last_values) = next(iter(results.items())), list(results.items())[-1]
        shown = ', '.join(f'{score} {first_values[score]:.1f} -> {last_values[score]:.1f}' for score in first_values
                          if score != 'seconds' and score in last_values)
        print(f'{label}: epoch {first} -> {last}: {shown}')
    plot_online_eval(runs, args.out, args.title)
    print(f'Written: {args.out}')
    return runs


if __name__ == '__main__':
    main()
