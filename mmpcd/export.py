"""Turn a PCD training checkpoint into a student backbone that other codebases load."""
from typing import Dict

import torch

StateDict = Dict[str, torch.Tensor]


def extract_backbone(checkpoint: dict, prefix: str = 'backbone.') -> StateDict:
    """The tensors under ``prefix`` in a training checkpoint of tools/train.py, prefix removed."""
    state_dict = checkpoint.get('state_dict', checkpoint)
    backbone = {k[len(prefix):]: v for k, v in state_dict.items() if k.startswith(prefix)}
    if not backbone:
        raise KeyError(f'no key starts with {prefix!r}; is this a training checkpoint of tools/train.py? '
                       f'keys found: {list(state_dict)[:5]}')
    return backbone


def norm_rescale(backbone: StateDict, scale: float = 0.25) -> StateDict:
    """NormRescale with a constant (PCD Sec. 4.1; Huang et al., ECCV 2022).

    Every conv weight is multiplied by ``scale``; each BN's running mean by
    ``scale`` and running variance by ``scale**2``; BN affine parameters
    and everything else are kept. Each conv of a ResNet (or MobileNet) is
    followed by a BN, which makes the conv scale-invariant: the network
    computes the same function (exactly in train mode, up to BN's eps in
    eval mode, since the running statistics follow the conv), but the
    gradient of a conv weight grows by ``1 / scale`` and its relative step
    under SGD by ``1 / scale**2`` (16 at 0.25). That is the point: LARS
    leaves weight norms that SGD fine-tuning recipes tuned for SGD-trained
    weights move too slowly. BN's scale and shift are not scale-invariant
    (they feed residual sums directly), so scaling them would change the
    network instead of its effective learning rate.
    """
    rescaled = dict(backbone)
    for key, value in backbone.items():
        if key.endswith('weight') and value.dim() == 4:
            rescaled[key] = value * scale
        elif key.endswith('running_mean'):
            rescaled[key] = value * scale
        elif key.endswith('running_var'):
            rescaled[key] = value * scale**2
    return rescaled


def to_torchvision(backbone: StateDict) -> StateDict:
    """mmcls/mmdet ResNet keys are torchvision's (conv1, bn1, layerN.M.convK, downsample.0/1): no fc."""
    if 'conv1.weight' not in backbone or 'layer1.0.conv1.weight' not in backbone:
        raise KeyError('expected a ResNet backbone (conv1.weight, layer1.0.conv1.weight, ...); '
                       f'found keys such as {list(backbone)[:5]}')
    return dict(backbone)


def to_detectron2(backbone: StateDict) -> dict:
    """Detectron2's ResNet names (the renames of MoCo's converter), numpy arrays, matching_heuristics."""
    model = {}
    for key, value in to_torchvision(backbone).items():
        if key.endswith('num_batches_tracked'):
            continue
        if 'layer' not in key:
            key = 'stem.' + key
        for t in (1, 2, 3, 4):
            key = key.replace(f'layer{t}', f'res{t + 1}')
        for t in (1, 2, 3):
            key = key.replace(f'bn{t}', f'conv{t}.norm')
        key = key.replace('downsample.0', 'shortcut').replace('downsample.1', 'shortcut.norm')
        model[key] = value.numpy()
    return dict(model=model, __author__='mmpcd', matching_heuristics=True)


__all__ = ['extract_backbone', 'norm_rescale', 'to_torchvision', 'to_detectron2']
