"""Effective receptive fields (Luo et al. 2016) side by side, as in the PCD paper's Fig. 2; prints their radii.

    python tools/analysis_tools/erf.py --images data/coco_mini/val --size 224 \
        --model 'ResNet-50 (random)' torchvision:resnet50 \
        --model 'ResNet-18 (random)' torchvision:resnet18 \
        --model 'PCD student + φ + MHSA' configs/pcd/cpu/pcd_resnet18-effnetlite0_1xb32-lars-15e_cifar10-mini.py \
            work_dirs/distill_cpu/PCD_seed0/epoch_15.pth \
        --target backbone backbone student --out erf.png

For each model: the gradient of the centre unit of the map (--target: backbone = the last backbone map, student =
MHSA(φ(backbone)), teacher) with respect to the input, absolute, summed over channels, averaged over the images.
Prints the share of input pixels with a non-zero gradient and the radius of the centred square holding 50% and
90% of the gradient mass. See docs/analysis.md.
"""
import argparse
from typing import List, Optional

from mmpcd.analysis import add_image_arguments, add_model_arguments, images_from_arguments, models_from_arguments
from mmpcd.visualization.erf import FRACTIONS, draw_erfs


def main(argv: Optional[List[str]] = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model_arguments(parser)
    add_image_arguments(parser, num_images=0)
    parser.add_argument('--out', default='erf.png', help='output PNG')
    args = parser.parse_args(argv)
    images = images_from_arguments(args)
    numbers = draw_erfs(models_from_arguments(args), images, args.out)
    for label, n in numbers.items():
        radii = ', '.join(f'r{round(100 * f)} = {n["radius"][f]} px' for f in FRACTIONS)
        print(f'{label}: map {n["map"][0]}x{n["map"][1]}, non-zero gradient at {100 * n["support"]:.1f}% of the '
              f'{args.size}x{args.size} input pixels, {radii} ({len(images)} images)')
    print(f'Written: {args.out}')
    return numbers


if __name__ == '__main__':
    main()
