"""What the pixel MHSA of a PCD student does to its pixels (issue 34; docs/method.md, "The MHSA").

    python tools/analysis_tools/mhsa_stats.py \
        configs/pcd/dense_cpu/pcd_resnet18-effnetlite0_1xb32-lars-20e_pets-mini.py [CHECKPOINT] \
        --images data/pets_mini/train/images --size 128 --num-images 32

Without a checkpoint the model is the config's initialisation (``--seed``, as ``tools/train.py --seed``). On a batch
of train images (never a val split: these numbers may choose the default MHSA form), prints the attention's entropy
per head against the uniform maximum log(hw), the pixel-to-pixel cosine and the spread of the pixels around the
image's mean map after φ and after the MHSA, and the cosine between the backbone gradients of the pixel loss and of
the image-level loss (mmpcd.analysis.attention). ``--json`` writes the numbers.
"""
import argparse
import json
from pathlib import Path
from typing import List, Optional

import torch

from mmpcd.analysis import add_size_argument, list_images, load_model, load_raw_images, mhsa_statistics, whole_number


def main(argv: Optional[List[str]] = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='a PCD config (.py)')
    parser.add_argument('checkpoint', nargs='?', help='its checkpoint (none: the initialisation of --seed)')
    parser.add_argument('--images', nargs='+', default=['data/pets_mini/train/images'],
                        help='train image folders or files (not a val split)')
    parser.add_argument('--num-images', type=whole_number(2, 'the batch size (images)'), default=32,
                        help='the first N images, one batch (>= 2: BN on batch statistics)')
    add_size_argument(parser, 128)
    parser.add_argument('--seed', type=int, default=0, help='seed of the initialisation')
    parser.add_argument('--eval-bn', action='store_true',
                        help='take the maps with BN on running statistics (default: on the batch, as the loss)')
    parser.add_argument('--json', help='write the numbers to this json file')
    args = parser.parse_args(argv)
    if any(part.startswith('val') for source in args.images for part in Path(source).parts):
        raise SystemExit(f'--images {args.images}: use train images; these numbers must not be read on a val split')
    model = load_model('model', args.config, args.checkpoint, seed=args.seed)
    if not hasattr(model.module, 'student_forward'):
        raise SystemExit(f'{args.config}: not a PCD config (its model has no student_forward)')
    torch.manual_seed(args.seed)
    images = load_raw_images(list_images(args.images, args.num_images), args.size)
    stats = mhsa_statistics(model.module, model.normalize(images), batch_statistics=not args.eval_bn)
    h, w = stats['map']
    print(f'{len(images)} images at {args.size} px, student map {h}x{w}, BN on '
          f'{"running" if args.eval_bn else "batch"} statistics')
    if 'entropy' in stats:
        heads = ', '.join(f'{e:.3f}' for e in stats['entropy'])
        print(f'attention entropy per head (nats): {heads}; uniform maximum log({h * w}) = {stats["max_entropy"]:.3f}')
    else:
        print(f'model.attention is {type(model.module.attention).__name__}, not a PixelMHSA: no attention entropy; '
              '"after the MHSA" is its output')
    for name, label in (('phi', 'after φ'), ('mhsa', 'after the MHSA')):
        print(f'{label}: pixel-to-pixel cosine {stats["cosine"][name]:.3f}, '
              f'spread around the mean map {stats["spread"][name]:.1f} %')
    print(f'backbone gradient cosine, pixel loss vs image-level loss: {stats["gradient_cosine"]:.3f}')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(stats, f, indent=1)
        print('Written:', args.json)
    return stats


if __name__ == '__main__':
    main()
