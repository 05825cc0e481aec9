"""SSLight's view-sampling rule (Tan et al., 2023, Sec. 3.3.2)."""
import math


def mean_pixel_scale_ratio(global_size: int, local_size: int, global_min_scale: float, local_max_scale: float,
                           local_min_scale: float = 0.05) -> float:
    """mean(PS_g / PS_l) (SSLight eq. 1, Sec. 3.3.2) for ``RandomResizedCrop`` views.

    PS = final pixels / cropped area, so PS_g / PS_l = (GC / LC)² · A_l / A_g. ``RandomResizedCrop`` draws the
    area fraction uniformly, A_g ~ U(S_g, 1) and A_l ~ U(0.05, S_l), independently, so the mean is
    (GC / LC)² · E[A_l] · E[1 / A_g] = (GC / LC)² · (0.05 + S_l) / 2 · ln(1 / S_g) / (1 - S_g).
    """
    mean_local_area = (local_min_scale + local_max_scale) / 2
    mean_inverse_global_area = math.log(1 / global_min_scale) / (1 - global_min_scale)
    return (global_size / local_size)**2 * mean_local_area * mean_inverse_global_area


def matched_local_size(global_size: int, scale: float, local_min_scale: float = 0.05) -> int:
    """The local-view resolution LC at which mean(PS_g / PS_l) = 1 for S_g = S_l = ``scale`` (SSLight Sec. 3.3.2:
    "the best accuracy is achieved when mean(PS_g/PS_l) ≈ 1.0"), rounded to a pixel.

    224 px global views give 123 px at S = 0.3 and 104 px at S = 0.14; the paper reports 128 and 103, the best
    of the sizes it tried (Fig. 2 (B)).
    """
    return round(global_size *
                 math.sqrt(mean_pixel_scale_ratio(global_size, global_size, scale, scale, local_min_scale)))
