"""Export the student backbone of a PCD training checkpoint for fine-tuning.

  --to mmdet        (default) {'state_dict': backbone tensors, 'meta'}: mmdet / mmseg / mmcls load it with
                    backbone=dict(..., init_cfg=dict(type='Pretrained', checkpoint=OUT)). (The training
                    checkpoint itself also loads there with prefix='backbone.'.)
  --to torchvision  a torchvision resnet18/34/50 state dict without fc: model.fc = nn.Identity(), then
                    model.load_state_dict(torch.load(OUT), strict=True).
  --to detectron2   a .pkl with detectron2's ResNet names and matching_heuristics (MODEL.WEIGHTS=OUT).
  --norm-rescale S  NormRescale (PCD Sec. 4.1): weights of the convs followed by a BN x S, that BN's running
                    mean x S and variance x S^2; the paper uses S=0.25 for the C4 and FCN fine-tunings (see
                    docs/exports.md).

    python tools/model_converters/export_student.py work_dirs/pcd_r18/epoch_100.pth pcd_r18.pth
    python tools/model_converters/export_student.py CKPT pcd_r18_c4.pkl --to detectron2 --norm-rescale 0.25
"""
import argparse
import os
import os.path as osp
import pickle

import torch

from mmpcd.export import extract_backbone, norm_rescale, to_detectron2, to_torchvision


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('checkpoint', help='training checkpoint written by tools/train.py')
    parser.add_argument('out', help='output file')
    parser.add_argument('--to', choices=['mmdet', 'torchvision', 'detectron2'], default='mmdet')
    parser.add_argument('--norm-rescale', type=float, default=None, metavar='S',
                        help='NormRescale: multiply the weights of the convs followed by a BN by S (0.25 in the paper for C4 / FCN)')
    parser.add_argument('--prefix', default='backbone.', help='module to export (the student backbone)')
    args = parser.parse_args()
    import mmpcd  # noqa: F401  (mmengine's checkpoint objects load with weights_only=True)
    backbone = extract_backbone(torch.load(args.checkpoint, map_location='cpu', weights_only=True), args.prefix)
    if args.norm_rescale is not None:
        backbone = norm_rescale(backbone, args.norm_rescale)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    if args.to == 'detectron2':
        with open(args.out, 'wb') as f:
            pickle.dump(to_detectron2(backbone), f)
    elif args.to == 'torchvision':
        torch.save(to_torchvision(backbone), args.out)
    else:
        meta = dict(source=osp.basename(args.checkpoint), algorithm='PCD', norm_rescale=args.norm_rescale)
        torch.save(dict(state_dict=backbone, meta=meta), args.out)
    print(f'wrote {len(backbone)} tensors of {args.prefix!r} to {args.out} ({args.to})')


if __name__ == '__main__':
    main()
