"""Export the student backbone of a PCD training checkpoint for fine-tuning.

  --to mmdet        (default) {'state_dict': backbone tensors, 'meta'}: mmdet / mmseg / mmcls load it with
                    backbone=dict(..., init_cfg=dict(type='Pretrained', checkpoint=OUT)). (The training
                    checkpoint itself also loads there with prefix='backbone.'.)
  --to torchvision  a torchvision resnet18/34/50 state dict without fc: model.fc = nn.Identity(), then
                    model.load_state_dict(torch.load(OUT), strict=True).
  --to detectron2   a .pkl with detectron2's ResNet names and matching_heuristics (MODEL.WEIGHTS=OUT).
  --to onnx         the backbone as ONNX (input 'image' normalised as in training, outputs 'feature_map'), batch
                    size, height and width dynamic; built from the config the checkpoint holds (or --config).
  --norm-rescale S  NormRescale (PCD Sec. 4.1): weights of the convs followed by a BN x S, that BN's running
                    mean x S and variance x S^2; the paper uses S=0.25 for the C4 and FCN fine-tunings (see
                    docs/exports.md).

    python tools/model_converters/export_student.py work_dirs/pcd_r18/epoch_100.pth pcd_r18.pth
    python tools/model_converters/export_student.py CKPT pcd_r18_c4.pkl --to detectron2 --norm-rescale 0.25
    python tools/model_converters/export_student.py CKPT pcd_r18.onnx --to onnx
"""
import argparse
import os.path as osp
import pickle

import torch

from mmpcd.export import (algorithm, backbone_config, build_backbone, check_scale, export_meta, extract_backbone,
                          norm_rescale, to_detectron2, to_onnx, to_torchvision)
from mmpcd.fileio import atomic_write, check_new_output, load_checkpoint_file, same_file

#: The usual file suffix of each output format.
OUT_SUFFIX = {'mmdet': '.pth', 'torchvision': '.pth', 'detectron2': '.pkl', 'onnx': '.onnx'}


def positive_scale(text: str) -> float:
    """The ``--norm-rescale`` value: a finite number > 0 (:func:`mmpcd.export.check_scale`)."""
    try:
        return check_scale(float(text))
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('checkpoint', help='training checkpoint written by tools/train.py')
    parser.add_argument(
        'out', help='output file (written all at once; never the input checkpoint, nor an existing '
        'file without --force)')
    parser.add_argument('--to', choices=list(OUT_SUFFIX), default='mmdet')
    parser.add_argument(
        '--norm-rescale', type=positive_scale, default=None, metavar='S',
        help='NormRescale: multiply the weights of the convs followed by a BN by S > 0 '
        '(0.25 in the paper for C4 / FCN)')
    parser.add_argument(
        '--prefix', default='backbone.', help="module to export (the student backbone; '' for a checkpoint that "
        'holds the backbone alone, such as an export of this tool)')
    parser.add_argument(
        '--config', default=None, help='--to onnx: the training config whose model.backbone the tensors fit '
        '(default: the config the checkpoint holds)')
    parser.add_argument('--force', action='store_true', help='replace the output file if it exists')
    args = parser.parse_args()
    if same_file(args.out, args.checkpoint):
        parser.error(f'the output {args.out} is the input checkpoint {args.checkpoint} (the same file); the '
                     'export would replace the training checkpoint: choose another output path')
    if osp.isdir(args.out):
        parser.error(f'the output {args.out} is a directory: give the path of the file to write, e.g. '
                     f'{osp.join(args.out, "student" + OUT_SUFFIX[args.to])}')
    if not args.force:
        try:
            check_new_output(args.out, f'the {args.to} export of {args.checkpoint}')
        except FileExistsError as err:
            parser.error(str(err))
    checkpoint = load_checkpoint_file(args.checkpoint, 'training checkpoint')
    backbone = extract_backbone(checkpoint, args.prefix, args.checkpoint)
    if args.norm_rescale is not None:
        backbone = norm_rescale(backbone, args.norm_rescale)
    if args.to == 'onnx':
        module = build_backbone(backbone_config(checkpoint, args.config, args.checkpoint), backbone, args.checkpoint)
        with atomic_write(args.out) as f:
            outputs = to_onnx(module, f)
        print(f'wrote {args.prefix!r} to {args.out} (onnx: image -> {", ".join(outputs)})')
        return
    if args.to == 'detectron2':
        exported = to_detectron2(backbone)
    elif args.to == 'torchvision':
        exported = to_torchvision(backbone)
    else:
        meta = export_meta(checkpoint, args.checkpoint, algorithm(checkpoint, args.config, args.checkpoint),
                           args.norm_rescale)
        exported = dict(state_dict=backbone, meta=meta)
    with atomic_write(args.out) as f:
        (pickle.dump if args.to == 'detectron2' else torch.save)(exported, f)
    print(f'wrote {len(backbone)} tensors of {args.prefix!r} to {args.out} ({args.to})')


if __name__ == '__main__':
    main()
