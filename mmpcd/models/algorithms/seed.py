from typing import Dict, List

import torch

from mmselfsup.registry import MODELS
from mmselfsup.structures import SelfSupDataSample
from .image_distiller import ImageDistiller


@MODELS.register_module()
class SEED(ImageDistiller):
    """SElf-supervised distillation (SEED, Fang et al. ICLR 2021), and CompRess-1q with its head's options.

    The student (backbone, pooled, projection MLP) embeds each view; the
    frozen teacher embeds the same view. The student's softmax over its
    similarities to [teacher embedding; queue of teacher embeddings] matches
    the teacher's by cross-entropy (SEED's loss, :class:`SimilarityDistillHead`);
    then the teacher embeddings are enqueued. With ``head.with_positive=False``
    and equal temperatures this is CompRess-1q (Koohpayegani et al. NeurIPS
    2020): the anchors are the queue alone (``configs/compress/``).

    The teacher, the embeddings and the widths are :class:`ImageDistiller`'s.

    Args: as :class:`ImageDistiller` (``head``: :class:`SimilarityDistillHead`, which holds the queue).
    """

    def loss(self, inputs: List[torch.Tensor], data_samples: List[SelfSupDataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        """SEED's loss on every view (student and teacher see the same view), averaged; then the queue update.

        Args:
            inputs: The views, each (N, 3, H, W): one in SEED's recipe, two
                in the PCD recipe's pipeline.
            data_samples: Unused.

        Returns:
            ``dict(loss=...)``: the mean of the per-view losses.
        """
        teacher = self.teacher.embedding(torch.cat(inputs)).chunk(len(inputs))  # eval mode: one forward is exact
        losses = [self.head.loss(self.student_embedding(view), target) for view, target in zip(inputs, teacher)]
        self.head.enqueue(torch.cat(teacher))
        return dict(loss=sum(losses) / len(losses))
