"""Feature maps beside their images (the PCD appendix's Fig. 1): channel mean and a 3-component PCA in RGB.

    python tools/analysis_tools/feature_maps.py --images data/coco_mini/val --num-images 4 --size 224 \
        --model PCD configs/pcd/cpu/pcd_resnet18-effnetlite0_1xb32-lars-15e_cifar10-mini.py \
            work_dirs/distill_cpu/PCD_seed0/epoch_15.pth \
        --model 'image-level PCD' configs/pcd/cpu/pcd_resnet18-effnetlite0-image-level_1xb32-lars-15e_cifar10-mini.py \
            work_dirs/distill_cpu/image-level_PCD_seed0/epoch_15.pth --out feature_maps.png

One row per image: the image, then for each model its map (--target, default backbone: layer4 of a ResNet) as the
channel mean and as the first 3 principal components of its pixels (fitted over all the images of that model) in
RGB, upsampled bilinearly. Prints the variance share of the 3 components. See docs/analysis.md.
"""
import argparse
from typing import List, Optional

from mmpcd.analysis import add_image_arguments, add_model_arguments, images_from_arguments, models_from_arguments
from mmpcd.visualization.feature_maps import draw_feature_maps


def main(argv: Optional[List[str]] = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model_arguments(parser)
    add_image_arguments(parser, num_images=4)
    parser.add_argument('--out', default='feature_maps.png', help='output PNG')
    args = parser.parse_args(argv)
    images = images_from_arguments(args)
    explained = draw_feature_maps(models_from_arguments(args), images, args.out)
    for label, shares in explained.items():
        print(f'{label}: the 3 PCA components explain {", ".join(f"{100 * s:.1f}" for s in shares)}% '
              f'(together {100 * shares.sum():.1f}%) of the pixels\' variance')
    print(f'Written: {args.out}')
    return explained


if __name__ == '__main__':
    main()
