"""Training curves (loss, lr, ...) against iteration from mmengine work dirs or json logs, with the chance line.

    python tools/analysis_tools/plot_curves.py work_dirs/pcd_r18_demo --keys loss lr --out curves.png
    python tools/analysis_tools/plot_curves.py work_dirs/distill_cpu/PCD_seed{0,1,2} \
        work_dirs/distill_cpu/image-level_PCD_seed{0,1,2} --labels PCD PCD PCD image-level image-level image-level

Reads <work_dir>/<timestamp>/vis_data/<timestamp>.json (every session of a resumed run) or a json log given
directly. The loss panel gets the chance line log(K+1) of a PCD loss: K is --num-negatives, or model.head.queue_len
of the config the run dumped. Prints each run's first and last logged loss beside chance. See docs/analysis.md.
"""
import argparse
import os.path as osp
from typing import Dict, List, Optional

from mmpcd.analysis import queue_length, read_training_log
from mmpcd.visualization import chance_loss, plot_training_curves


def main(argv: Optional[List[str]] = None) -> Dict[str, list]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('logs', nargs='+', help='mmengine work dirs or json logs')
    parser.add_argument('--labels', nargs='+', help='one per log; runs with one label share a colour '
                        '(default: the work dir names)')
    parser.add_argument('--keys', nargs='+', default=['loss', 'lr'], help='logged scalars, one panel each')
    parser.add_argument('--num-negatives', type=int, help='K for the chance line (default: from the config)')
    parser.add_argument('--title', default='training curves')
    parser.add_argument('--out', default='curves.png', help='output PNG')
    args = parser.parse_args(argv)
    labels = args.labels or [osp.basename(osp.normpath(log)) for log in args.logs]
    if len(labels) != len(args.logs):
        raise SystemExit(f'--labels takes one label per log: {len(args.logs)} logs, {len(labels)} labels')
    num_negatives = args.num_negatives
    if num_negatives is None:
        found = {k for k in map(queue_length, args.logs) if k is not None}
        if len(found) > 1:
            raise SystemExit(f'the runs have different queue lengths {sorted(found)}: give --num-negatives')
        num_negatives = found.pop() if found else None
    runs: Dict[str, list] = {}
    for log, label in zip(args.logs, labels):
        series = read_training_log(log)
        runs.setdefault(label, []).append(series)
        line = (f'{log}: iterations {series["iter"][0]}-{series["iter"][-1]}, loss {series["loss"][0]:.3f} '
                f'-> {series["loss"][-1]:.3f}')
        if num_negatives is not None:
            line += f' (chance log({num_negatives + 1}) = {chance_loss(num_negatives):.3f})'
        print(line)
    plot_training_curves(runs, args.out, args.keys, num_negatives, args.title)
    print(f'Written: {args.out}')
    return runs


if __name__ == '__main__':
    main()
