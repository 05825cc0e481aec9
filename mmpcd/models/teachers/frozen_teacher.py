from typing import Optional, Sequence

import torch
from mmengine.logging import print_log
from mmengine.model import BaseModule

from mmselfsup.registry import MODELS
from ..utils import load_state_dict_strict
from .checkpoint_formats import load_teacher_checkpoint


@MODELS.register_module()
class FrozenTeacher(BaseModule):
    """A released self-supervised network, frozen the mmrazor way (PCD, Fig. 1a, teacher side).

    Holds the teacher backbone and its adapted head (:class:`SpatialAdaptor`),
    loads both from the released checkpoint when built (strictly: never
    silently random), converts the student's input normalization to the
    teacher's, and stays frozen: ``requires_grad=False``, eval mode even
    when its parent is put in train mode (every BN on its running
    statistics, which the SpatialAdaptor invariance needs), and marked
    initialised so that ``init_weights`` does not touch it. A model-wide
    ``init_cfg`` of the parent applies to every submodule; :class:`PCD`
    restores the teacher after its own ``init_weights``.

    Args:
        backbone: Teacher backbone config.
        neck: Its adapted head (:class:`SpatialAdaptor`) config, or None to
            use the backbone map itself (ablations (a)-(c) of Table 3; the
            checkpoint's head is then not used).
        checkpoint: Local path of the released checkpoint (None: the file a
            Python package ships, for formats that have one).
        checkpoint_format: Its layout, a key of ``TEACHER_FORMATS``.
        data_mean: Mean of the student's input normalization (0-255, RGB).
        data_std: Its std.
        input_mean: Mean of the teacher's own input normalization, when it
            differs (EfficientNet-Lite0: 127.5); default ``data_mean``.
        input_std: Its std; default ``data_std``.
        channels_last: Run the teacher in the channels-last memory format
            (weights and input NHWC): the same values, faster convolutions
            where the machine's kernels prefer it (``docs/benchmark.md``).
    """

    def __init__(self, backbone: dict, neck: Optional[dict], checkpoint: Optional[str], checkpoint_format: str,
                 data_mean: Sequence[float], data_std: Sequence[float], input_mean: Optional[Sequence[float]] = None,
                 input_std: Optional[Sequence[float]] = None, channels_last: bool = False) -> None:
        super().__init__(init_cfg=None)
        self.backbone = MODELS.build(backbone)
        self.neck = MODELS.build(neck) if neck is not None else None
        # x_teacher = (x * std + mean - teacher_mean) / teacher_std, as a scale and a shift per channel
        mean, std = (torch.tensor(v, dtype=torch.float32).view(-1, 1, 1) for v in (data_mean, data_std))
        teacher_mean, teacher_std = (torch.tensor(v if t is None else t, dtype=torch.float32).view(-1, 1, 1)
                                     for v, t in ((data_mean, input_mean), (data_std, input_std)))
        self.register_buffer('input_scale', std / teacher_std, persistent=False)
        self.register_buffer('input_shift', (mean - teacher_mean) / teacher_std, persistent=False)
        self._load(checkpoint, checkpoint_format)
        self.source = f'{checkpoint or "the file its package ships"} ({checkpoint_format} layout)'
        self.register_state_dict_post_hook(FrozenTeacher._record_source)
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.to(memory_format=self.memory_format)
        self.requires_grad_(False)
        self.eval()
        self._is_init = True

    def _load(self, path: Optional[str], fmt: str) -> None:
        backbone_state, head_state = load_teacher_checkpoint(path, fmt)
        load_state_dict_strict(self.backbone, backbone_state, f'{path} (teacher backbone)',
                               f'the {fmt} backbone for {self.backbone.__class__.__name__}')
        if self.neck is not None:
            self.neck.load_mlp_state_dict(head_state, source=f'{path} (teacher head)')
        print_log(
            f'Loaded the frozen teacher from {path} ({fmt} layout' +
            (').' if self.neck is not None else '; its head is not used: no adaptor).'), logger='current')

    def init_weights(self) -> None:
        """Nothing to do: the weights are the released checkpoint's."""

    @staticmethod
    def _record_source(module: 'FrozenTeacher', state_dict: dict, prefix: str, local_metadata: dict) -> None:
        """Save the teacher's source with the weights, in the state dict's metadata (not a tensor: mmengine
        broadcasts every state-dict entry between processes)."""
        local_metadata['source'] = module.source

    def train(self, mode: bool = True) -> 'FrozenTeacher':
        """Stay in eval mode whatever ``mode`` is."""
        return super().train(False)

    @torch.no_grad()
    def backbone_map(self, images: torch.Tensor) -> torch.Tensor:
        """The backbone's last map of images normalized for the student: (N, C_backbone, h, w)."""
        images = (images * self.input_scale + self.input_shift).contiguous(memory_format=self.memory_format)
        return self.backbone(images)[-1]

    @torch.inference_mode()
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """The teacher's target map: the adapted head over the backbone map, (N, C, h, w).

        Run in inference mode (no autograd bookkeeping at all): the map is a
        target, never saved for a backward pass. ``backbone_map`` alone runs
        under ``no_grad``, as its features may feed a trained probe.
        """
        feats = self.backbone_map(images)
        return self.neck(feats) if self.neck is not None else feats

    @torch.inference_mode()
    def embedding(self, images: torch.Tensor) -> torch.Tensor:
        """The teacher's image embedding (N, C): its head applied to the pooled backbone map.

        For the image-level peers (SEED, DisCo, CompRess). In eval mode the
        adaptor on the pooled 1x1 map is exactly the released MLP head on the
        pooled vector (every BN on its running statistics; CW-ReLU on one
        pixel is ReLU). Without a head: the pooled backbone map.
        """
        pooled = self.backbone_map(images).mean(dim=(2, 3), keepdim=True)
        return (self.neck(pooled) if self.neck is not None else pooled).flatten(1)
