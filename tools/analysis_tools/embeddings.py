"""Pooled features of students and teacher in 2-D (t-SNE or PCA), coloured by class, with RankMe and linear-probe top-1.

    python tools/analysis_tools/embeddings.py --data data/cifar10_mini --size 64 \
        --model 'random init' configs/pcd/cpu/pcd_resnet18-effnetlite0_1xb32-lars-15e_cifar10-mini.py \
        --model PCD configs/pcd/cpu/pcd_resnet18-effnetlite0_1xb32-lars-15e_cifar10-mini.py \
            work_dirs/distill_cpu/PCD_seed0/epoch_15.pth \
        --model teacher configs/pcd/cpu/pcd_resnet18-effnetlite0_1xb32-lars-15e_cifar10-mini.py \
        --target backbone backbone teacher --out embeddings.png

The val images of a labelled set (meta/{train,val}.txt, as data/cifar10_mini), the map (--target) global-average
pooled, standardized, embedded by t-SNE (scikit-learn; --method pca for principal components); the panel title
carries the linear-probe top-1 (train split -> val, the CPU distillation benchmark's probe) and the RankMe of the
pooled val features (effective rank, Garrido et al. 2023: near 1 when they have collapsed). See docs/analysis.md.
"""
import argparse
from typing import Dict, List, Optional

from mmpcd.analysis import add_model_arguments, add_size_argument, models_from_arguments
from mmpcd.evaluation.embeddings import pooled_val_features
from mmpcd.visualization.embeddings import METHODS, draw_embeddings


def main(argv: Optional[List[str]] = None) -> Dict[str, Dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model_arguments(parser)
    parser.add_argument('--data', default='data/cifar10_mini', help='labelled set: meta/{train,val}.txt')
    add_size_argument(parser, 64)
    parser.add_argument('--method', choices=METHODS, default='tsne')
    parser.add_argument('--no-probe', action='store_true', help='skip the linear probe (titles without top-1)')
    parser.add_argument('--out', default='embeddings.png', help='output PNG')
    args = parser.parse_args(argv)
    measured = pooled_val_features(models_from_arguments(args), args.data, args.size, probe=not args.no_probe)
    draw_embeddings(*measured, args.out, args.method, seed=args.seed)
    for label, n in measured.numbers.items():
        top1 = f'linear-probe top-1 {n["top1"]:.1f}%, ' if 'top1' in n else ''
        print(f'{label}: {top1}RankMe {n["rankme"]:.1f} of {n["dims"]} dimensions')
    print(f'Written: {args.out}')
    return measured.numbers


if __name__ == '__main__':
    main()
