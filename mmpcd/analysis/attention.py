"""What PCD's pixel MHSA does to the pixels of a map (issue 34): attention entropy, pixel similarity, gradients.

At PyTorch's default initialisation the paper-literal :class:`~mmpcd.models.necks.pixel_mhsa.PixelMHSA` attends
almost uniformly, so its output's pixels are nearly the image's mean map and the pixel loss behaves as the
image-level loss. These functions measure it on any PCD model and map:

* :func:`attention_entropy`: the entropy of each head's attention (nats), against the uniform maximum log(HW);
* :func:`pixel_cosine` and :func:`pixel_spread`: how alike the pixels of one image are;
* :func:`gradient_alignment`: the cosine between the backbone gradients of the pixel loss and of the image-level
  loss (:class:`~mmpcd.models.heads.PixelContrastHead` and :class:`~mmpcd.models.heads.ImageContrastHead`, on the
  same batch, the same teacher maps and the same queue);
* :func:`mhsa_statistics`: all of them for a batch of images.
"""
import math
from contextlib import contextmanager
from typing import Dict, Iterator, List

import torch
import torch.nn.functional as F
from torch import nn

from ..models.heads import ImageContrastHead, PixelContrastHead
from ..models.necks.pixel_mhsa import PixelMHSA


def attention_entropy(weights: torch.Tensor) -> torch.Tensor:
    """The entropy (nats) of each head's attention, averaged over images and query pixels.

    Args:
        weights: Attention weights (N, heads, HW, HW), each row summing to 1
            (:meth:`PixelMHSA.attention_weights`).

    Returns:
        (heads,): at most log(HW) (uniform attention), 0 when each pixel attends to one pixel.
    """
    return -(weights * weights.clamp_min(1e-30).log()).sum(-1).mean(dim=(0, 2))


def _pixels(maps: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) -> (N, HW, C), in float64."""
    if maps.dim() != 4:
        raise ValueError(f'expected maps (N, C, H, W), got shape {tuple(maps.shape)}')
    return maps.detach().double().flatten(2).transpose(1, 2)


def pixel_cosine(maps: torch.Tensor) -> torch.Tensor:
    """The mean cosine between the pixel vectors of each image, over the ordered pairs of distinct pixels: (N,).

    Raises:
        ValueError: a map of one pixel, which has no pair.
    """
    pixels = F.normalize(_pixels(maps), dim=2)
    hw = pixels.shape[1]
    if hw < 2:
        raise ValueError(f'pixel_cosine needs maps of at least 2 pixels, got {tuple(maps.shape[2:])}')
    gram = pixels @ pixels.transpose(1, 2)
    return (gram.sum(dim=(1, 2)) - gram.diagonal(dim1=1, dim2=2).sum(1)) / (hw * (hw - 1))


def pixel_spread(maps: torch.Tensor) -> torch.Tensor:
    """The spread of each image's pixels around its mean map, in % of the mean's norm: (N,).

    ``100 * mean_i ||x_i - m|| / ||m||`` with ``m`` the mean of the image's pixel vectors ``x_i``: 0 when all
    pixels are equal.
    """
    pixels = _pixels(maps)
    mean = pixels.mean(dim=1, keepdim=True)
    return 100 * (pixels - mean).norm(dim=2).mean(1) / mean.norm(dim=2).squeeze(1)


def _backbone_gradient(loss: torch.Tensor, params: List[nn.Parameter]) -> torch.Tensor:
    grads = torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
    return torch.cat([(torch.zeros_like(p) if g is None else g).flatten() for p, g in zip(params, grads)])


def _contrast_heads(head: PixelContrastHead) -> Iterator[PixelContrastHead]:
    """The pixel-level and image-level heads with ``head``'s temperature and a copy of its queue."""
    feat_dim, queue_len = head.queue.shape
    for cls in (PixelContrastHead, ImageContrastHead):
        copy = cls(queue_len=queue_len, feat_dim=feat_dim, temperature=head.temperature).to(head.queue.device)
        copy.load_state_dict(head.state_dict())
        yield copy


@contextmanager
def bn_mode(model: nn.Module, batch_statistics: bool) -> Iterator[None]:
    """Run ``model`` in training mode (BN on batch statistics, as the loss sees the maps in training) or in eval
    mode (BN on running statistics, as the analysis tools read a checkpoint); afterwards its mode and its buffers
    (BN running statistics, queue) are as they were."""
    buffers = {name: b.clone() for name, b in model.named_buffers()}
    training = model.training
    model.train(batch_statistics)
    try:
        yield
    finally:
        model.train(training)
        with torch.no_grad():
            for name, b in model.named_buffers():
                b.copy_(buffers[name])


def gradient_alignment(model: nn.Module, views: torch.Tensor) -> float:
    """The cosine between the student-backbone gradients of PCD's pixel loss and of the image-level loss.

    Both losses are the heads' own (:class:`PixelContrastHead` and
    :class:`ImageContrastHead`, eq. 3-4 on pixels or on pooled maps), with the
    temperature and the current queue of ``model.head``, on the same student
    map ``MHSA(φ(backbone(views)))`` against the same teacher map, as one
    view of :meth:`PCD.loss` computes them. The model runs in training mode
    (BN on batch statistics, as in training); its BN running statistics and
    its queue are left as they were. The cosine is taken in float64: in
    float32, over the 11 M parameters of a ResNet-18, it was off by 0.007
    (0.9975 against 0.9905 for the dense benchmark's PCD at init, 32 images).

    Args:
        model: A PCD model (``student_forward``, ``teacher``, ``head`` with a queue).
        views: Normalized images (N, 3, H, W), N >= 2 (training-mode BN needs a batch).

    Returns:
        The cosine, in [-1, 1]: 1 when the pixel loss pulls the backbone as the image-level loss does.
    """
    with bn_mode(model, batch_statistics=True):
        with torch.no_grad():
            teacher = model.teacher(views)
        student = model.student_forward(views)
        params = [p for p in model.backbone.parameters() if p.requires_grad]
        pixel, image = (_backbone_gradient(head.loss(student, teacher), params) for head in _contrast_heads(model.head))
    return float(F.cosine_similarity(pixel.double(), image.double(), dim=0))


def mhsa_statistics(model: nn.Module, views: torch.Tensor, batch_statistics: bool = True) -> Dict[str, object]:
    """The numbers of issue 34 for a PCD model on a batch of normalized images (N, 3, H, W), N >= 2.

    Args:
        model: A PCD model.
        views: The images.
        batch_statistics: Take the maps with BN on the batch's statistics,
            as the loss sees them in training (default), or on the running
            statistics (eval mode). The gradients always take the former.

    Returns:
        ``map``: (h, w) of the student map; ``max_entropy``: log(hw);
        ``entropy``: per head (nats; only when ``model.attention`` is a
        :class:`PixelMHSA`); ``cosine`` and ``spread``: ``{'phi': ..,
        'mhsa': ..}`` means over the images of :func:`pixel_cosine` and
        :func:`pixel_spread` after φ and after the attention (the same for a
        model without MHSA); ``gradient_cosine``: :func:`gradient_alignment`.
    """
    with bn_mode(model, batch_statistics):
        with torch.no_grad():
            phi = model.neck(model.backbone(views)[-1])
            out = model.attention(phi)
            stats = dict(map=tuple(out.shape[2:]), max_entropy=math.log(out.shape[2] * out.shape[3]))
            if isinstance(model.attention, PixelMHSA):
                stats['entropy'] = attention_entropy(model.attention.attention_weights(phi)).tolist()
    stats['cosine'] = {name: float(pixel_cosine(m).mean()) for name, m in (('phi', phi), ('mhsa', out))}
    stats['spread'] = {name: float(pixel_spread(m).mean()) for name, m in (('phi', phi), ('mhsa', out))}
    stats['gradient_cosine'] = gradient_alignment(model, views)
    return stats
