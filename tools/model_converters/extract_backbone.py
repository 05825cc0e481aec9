"""Extract the student backbone of a PCD checkpoint for fine-tuning.

The output holds the backbone's tensors with mmcls/mmdet/mmseg ResNet key
names (``conv1.weight``, ``layer1.0.bn1.running_mean``...) under
``state_dict``, and loads in mmdet and mmseg with

    backbone=dict(..., init_cfg=dict(type='Pretrained', checkpoint='OUT.pth'))

The whole training checkpoint also loads directly with
``prefix='backbone.'`` in that ``init_cfg``; the extracted file is smaller,
holds tensors only (it loads with ``weights_only=True`` anywhere) and needs
no mmpcd to be read.

    python tools/model_converters/extract_backbone.py work_dirs/pcd_r18/epoch_100.pth pcd_r18_backbone.pth
"""
import argparse
import os
import os.path as osp

import torch

import mmpcd  # noqa: F401  (lets mmengine's own checkpoint objects load with weights_only=True)


def extract_backbone(checkpoint: dict, prefix: str = 'backbone.') -> dict:
    """The tensors under ``prefix`` in a training checkpoint, prefix removed."""
    state_dict = checkpoint.get('state_dict', checkpoint)
    backbone = {k[len(prefix):]: v for k, v in state_dict.items() if k.startswith(prefix)}
    if not backbone:
        raise KeyError(f'no key starts with {prefix!r}; is this a training checkpoint of tools/train.py? '
                       f'keys found: {list(state_dict)[:5]}')
    return backbone


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('checkpoint', help='checkpoint written by tools/train.py')
    parser.add_argument('out', help='output file')
    parser.add_argument('--prefix', default='backbone.', help='module to extract (the student backbone)')
    args = parser.parse_args()
    checkpoint = torch.load(args.checkpoint, map_location='cpu', weights_only=True)
    backbone = extract_backbone(checkpoint, args.prefix)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    torch.save(dict(state_dict=backbone, meta=dict(source=osp.basename(args.checkpoint), algorithm='PCD')),
               args.out)
    print(f'wrote {len(backbone)} tensors of {args.prefix!r} to {args.out}')


if __name__ == '__main__':
    main()
