"""The CPU pipeline's image operations on batched tensors (any device), reproducing Pillow's and mmcv's arithmetic.

Every function takes and returns float tensors of shape ``(N, 3, H, W)`` in **RGB** order whose values are the
whole numbers 0-255 (the uint8 images of the CPU pipeline, held in float so that the ops run batched on the GPU);
each rounds or truncates to a whole number where the CPU operation stores a uint8 image. The references are the
transforms of ``configs/_base_/datasets/imagenet_pcd.py``: mmselfsup's ``RandomResizedCrop`` (Pillow bicubic),
``ColorJitter`` (Pillow's ``ImageEnhance`` through mmcv's ``adjust_*``), ``RandomGaussianBlur`` (Pillow's
``GaussianBlur``) and ``RandomSolarize``, and mmcv's ``RandomGrayscale``.
"""
import math
from typing import Sequence, Tuple

import numpy as np
import PIL
import torch
import torch.nn.functional as F

#: Pillow's RGB -> L weights in 16-bit fixed point (L = R 299/1000 + G 587/1000 + B 114/1000, rounded).
_L_WEIGHTS = (19595, 38470, 7471)

#: The interpolations of ``RandomResizedCrop`` (Pillow backend) that :func:`resized_crop` reproduces.
RESIZE_MODES = ('bilinear', 'bicubic')
#: Pillow 13 resizes the height first where the height shrinks by more than twice as many pixels as the width
#: (python-pillow/Pillow#9549); earlier versions always resize the width first.
PILLOW_HEIGHT_FIRST = int(PIL.__version__.split('.')[0]) >= 13


def height_first(in_size: Tuple[int, int], out_size: Tuple[int, int]) -> bool:
    """Whether the installed Pillow resizes an ``in_size`` (height, width) image to ``out_size`` height first
    (:data:`PILLOW_HEIGHT_FIRST`: ``ImagingResampleInner``'s order of the two passes)."""
    shrink_h, shrink_w = in_size[0] - out_size[0], in_size[1] - out_size[1]
    return PILLOW_HEIGHT_FIRST and shrink_h > 0 and shrink_h > 2 * shrink_w


def resized_crop(img: torch.Tensor, box: Tuple[int, int, int, int], size: Tuple[int, int],
                 interpolation: str = 'bicubic') -> torch.Tensor:
    """Crop one image to ``box`` and resize it like ``mmcv.imresize(..., interpolation, backend='pillow')``.

    torch's antialiased bicubic and bilinear are Pillow's resampling filters (bicubic a = -0.5, bilinear the
    triangle; support scaled by the reduction); as Pillow, it resizes one axis, rounds to uint8, then resizes the
    other, in Pillow's order (:func:`height_first`).

    Args:
        img: One image, ``(3, H, W)``, any dtype.
        box: ``(ymin, xmin, ymax, xmax)``, inclusive, as ``RandomResizedCrop.get_params`` returns.
        size: The output ``(height, width)``.
        interpolation: ``'bicubic'`` or ``'bilinear'`` (:data:`RESIZE_MODES`).

    Returns:
        The ``(1, 3, *size)`` float crop, rounded to whole numbers in 0-255.

    Raises:
        ValueError: another interpolation.
    """
    if interpolation not in RESIZE_MODES:
        raise ValueError(f'resized_crop reproduces Pillow\'s {" and ".join(RESIZE_MODES)} resize, not '
                         f'{interpolation!r}')
    ymin, xmin, ymax, xmax = box
    out = img[None, :, ymin:ymax + 1, xmin:xmax + 1].float()
    between = (size[0], out.shape[3]) if height_first(out.shape[2:], size) else (out.shape[2], size[1])
    for step in (between, tuple(size)):
        out = F.interpolate(out, size=step, mode=interpolation, align_corners=False, antialias=True)
        out = out.add_(0.5).floor_().clamp_(0, 255)  # Pillow rounds half up (torch's round: half to even)
    return out


def _blend(degenerate: torch.Tensor, img: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """Pillow's ``Image.blend(degenerate, img, factor)`` on uint8 images: clipped to 0-255, then truncated."""
    factor = factor.to(img.dtype).view(-1, 1, 1, 1)
    return (degenerate + factor * (img - degenerate)).clamp_(0, 255).floor_()


def luminance(img: torch.Tensor) -> torch.Tensor:
    """Pillow's ``convert('L')`` of RGB images, in its fixed point: ``(19595 R + 38470 G + 7471 B + 2^15) >> 16``.

    Returns:
        ``(N, 1, H, W)``.
    """
    weights = img.new_tensor(_L_WEIGHTS).view(1, 3, 1, 1)
    return torch.floor(((img * weights).sum(1, keepdim=True) + 32768) / 65536)


def adjust_brightness(img: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """``ImageEnhance.Brightness(img).enhance(factor)``: a blend with black. ``factor``: ``(N,)``."""
    return _blend(torch.zeros_like(img), img, factor)


def adjust_contrast(img: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """``ImageEnhance.Contrast(img).enhance(factor)``: a blend with the mean of the L image, rounded to an integer
    (``int(ImageStat.Stat(L).mean[0] + 0.5)``). ``factor``: ``(N,)``."""
    mean = torch.floor(luminance(img).mean((1, 2, 3), dtype=torch.float64) + 0.5).to(img.dtype)
    return _blend(mean.view(-1, 1, 1, 1).expand_as(img), img, factor)


def adjust_saturation(img: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """``ImageEnhance.Color(img).enhance(factor)`` (mmcv's ``adjust_color``, Pillow backend): a blend with the L
    image. ``factor``: ``(N,)``."""
    return _blend(luminance(img).expand_as(img), img, factor)


def _rgb_to_hsv(img: torch.Tensor) -> torch.Tensor:
    """Pillow's RGB -> HSV (``rgb2hsv_row``, after colorsys): H and S truncated to 0-255, V the maximum."""
    r, g, b = img.unbind(1)
    maxc, minc = img.amax(1), img.amin(1)
    span = maxc - minc
    grey = span == 0
    span = torch.where(grey, torch.ones_like(span), span)
    rc, gc, bc = (maxc - r) / span, (maxc - g) / span, (maxc - b) / span
    h = torch.where(r == maxc, bc - gc, torch.where(g == maxc, 2.0 + rc - bc, 4.0 + gc - rc))
    h = torch.remainder(h / 6.0 + 1.0, 1.0)
    s = span / torch.where(grey, torch.ones_like(maxc), maxc)
    h = torch.where(grey, torch.zeros_like(h), torch.floor(h * 255.0).clamp_(0, 255))
    s = torch.where(grey, torch.zeros_like(s), torch.floor(s * 255.0).clamp_(0, 255))
    return torch.stack([h, s, maxc], 1)


def _hsv_to_rgb(hsv: torch.Tensor) -> torch.Tensor:
    """Pillow's HSV -> RGB (``hsv2rgb``, after colorsys), rounding half away from zero as C's ``round``."""
    h, s, v = hsv.unbind(1)
    sector = torch.floor(h * 6.0 / 255.0)
    f = h * 6.0 / 255.0 - sector
    fs = f * s
    p = torch.floor(v * (1.0 - s / 255.0) + 0.5).clamp_(0, 255)
    q = torch.floor(v * (1.0 - fs / 255.0) + 0.5).clamp_(0, 255)
    t = torch.floor(v * (1.0 - (s - fs) / 255.0) + 0.5).clamp_(0, 255)
    sector = torch.remainder(sector, 6).long()
    # sector -> (r, g, b) among (v, q, p, t): colorsys's table
    table = torch.tensor([[0, 3, 2], [1, 0, 2], [2, 0, 3], [2, 1, 0], [3, 2, 0], [0, 2, 1]], device=hsv.device)
    choices = torch.stack([v, q, p, t], 1)  # (N, 4, H, W)
    rgb = torch.gather(choices, 1, table[sector].permute(0, 3, 1, 2))
    return torch.where((s == 0).unsqueeze(1), v.unsqueeze(1).expand_as(rgb), rgb)


def adjust_hue(img: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """mmcv's ``adjust_hue`` (Pillow backend): to HSV, H plus ``shift`` modulo 256, back to RGB.

    Args:
        img: ``(N, 3, H, W)``.
        shift: ``(N,)``, ``np.uint8(hue_factor * 255)`` as mmcv computes it.
    """
    hsv = _rgb_to_hsv(img)
    hue = torch.remainder(hsv[:, :1] + shift.to(img.dtype).view(-1, 1, 1, 1), 256)
    return _hsv_to_rgb(torch.cat([hue, hsv[:, 1:]], 1))


def grayscale(img: torch.Tensor, channel_weights: Sequence[float]) -> torch.Tensor:
    """mmcv's ``RandomGrayscale(keep_channels=True)``: the weighted sum of the BGR channels (``channel_weights`` in
    BGR order, normalised), truncated to uint8, in all three channels."""
    weights = img.new_tensor(channel_weights[::-1]) / sum(channel_weights)  # to RGB order
    gray = torch.floor((img * weights.view(1, 3, 1, 1)).sum(1, keepdim=True))
    return gray.expand_as(img).contiguous()


def box_blur_radius(sigma: float, passes: int = 3) -> float:
    """Pillow's ``_gaussian_blur_radius``: the extended box radius whose ``passes`` box blurs approximate a Gaussian
    of standard deviation ``sigma`` (Gwosdek et al., SSVM 2011), in single precision as Pillow computes it."""
    sigma2 = np.float32(sigma) * np.float32(sigma) / np.float32(passes)
    length = np.float32(math.sqrt(12.0 * float(sigma2) + 1.0))
    whole = np.float32(math.floor((float(length) - 1.0) / 2.0))
    frac = (np.float32(2) * whole + np.float32(1)) * (whole * (whole + np.float32(1)) - np.float32(3) * sigma2)
    frac = frac / (np.float32(6) * (sigma2 - (whole + np.float32(1)) * (whole + np.float32(1))))
    return float(whole + frac)


def box_weights(radius: float) -> Tuple[int, int]:
    """Pillow's 24-bit fixed-point weights of one extended box blur pass (``ImagingHorizontalBoxBlur``): ``ww =
    2^24 / (2 radius + 1)`` (single precision, truncated) on the ``2 floor(radius) + 1`` inner taps, and ``fw``,
    the rest halved, on the two outer ones."""
    inner = int(np.float32(1 << 24) / (np.float32(radius) * np.float32(2) + np.float32(1)))
    return inner, ((1 << 24) - (int(radius) * 2 + 1) * inner) // 2


def _box_blur_rows(img: torch.Tensor, radii: torch.Tensor, inner: torch.Tensor, outer: torch.Tensor) -> torch.Tensor:
    """One pass of Pillow's extended box blur along the last axis, exactly in integers (``ImagingLineBoxBlur8``):
    ``(ww * inner sum + fw * outer pair + 2^23) >> 24``, the edge pixels repeated.

    Args:
        img: ``(M, H, W)`` int64.
        radii, inner, outer: ``(M,)`` int64: ``floor(radius)``, ``ww`` and ``fw`` of each row group.
    """
    pad = int(radii.max()) + 1
    width = img.shape[-1]
    padded = torch.cat([img[..., :1].expand(-1, -1, pad), img, img[..., -1:].expand(-1, -1, pad)], -1)
    sums = F.pad(padded.cumsum(-1), (1, 0))  # sums[..., i]: the sum of padded[..., :i]
    centre = torch.arange(pad, pad + width, device=img.device).view(1, 1, -1)
    radii = radii.view(-1, 1, 1)
    index = lambda offset: (centre + offset).expand(img.shape[0], img.shape[1], -1)  # noqa: E731
    window = sums.gather(-1, index(radii + 1)) - sums.gather(-1, index(-radii))
    pair = padded.gather(-1, index(-radii - 1)) + padded.gather(-1, index(radii + 1))
    return (window * inner.view(-1, 1, 1) + pair * outer.view(-1, 1, 1) + (1 << 23)) >> 24


def gaussian_blur(img: torch.Tensor, sigmas: Sequence[float], passes: int = 3) -> torch.Tensor:
    """Pillow's ``ImageFilter.GaussianBlur(radius=sigma)``: ``passes`` extended box blurs along the rows, then as
    many along the columns, edges repeated, each pass in Pillow's integer arithmetic (exact on any device).

    Each image has its own ``sigma``; each pass runs on the whole batch at once (a cumulative sum and gathers).

    Args:
        img: ``(N, 3, H, W)``.
        sigmas: ``N`` standard deviations (``RandomGaussianBlur``'s ``radius=sigma``).
    """
    n, c, h, w = img.shape
    radii = [box_blur_radius(sigma, passes) for sigma in sigmas]
    params = torch.tensor([(int(r), *box_weights(r)) for r in radii], dtype=torch.int64, device=img.device)
    whole, inner, outer = params.repeat_interleave(c, 0).unbind(1)
    out = img.reshape(n * c, h, w).long()
    for _ in range(passes):
        out = _box_blur_rows(out, whole, inner, outer)
    out = out.transpose(1, 2)
    for _ in range(passes):
        out = _box_blur_rows(out, whole, inner, outer)
    return out.transpose(1, 2).reshape(n, c, h, w).to(img.dtype)


def solarize(img: torch.Tensor, threshold: float = 128) -> torch.Tensor:
    """``mmcv.solarize``: every value at or above ``threshold`` inverted (``255 - x``)."""
    return torch.where(img < threshold, img, 255 - img)
