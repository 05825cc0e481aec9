"""OSS's loss assembly against the equations of docs/oss.md (OSS appendix A.1, pseudo-code lines 26-55).

One training-mode forward of a small online OSS model (dropout views on): the embeddings it computes are
recorded, then its three losses and their sum are recomputed from those embeddings and the prototypes alone, in
float64, element by element: the codes by Sinkhorn-Knopp from the teacher's clean embeddings of the two
full-resolution views, each network's swapped prediction of those codes from all its other chunks, and the
adversarial term as cross-entropies with label 0 for the teacher's embeddings and 1 for the student's.
"""
import math
import os.path as osp
from typing import Dict, List, Tuple

import pytest
import torch
from mmengine.config import Config
from torch import nn

from mmselfsup.registry import MODELS

from conftest import REPO

MODEL = osp.join(REPO, 'configs', '_base_', 'models', 'oss_resnet18-r50.py')
B, SMALL_VIEWS, E, K = 3, 2, 8, 7  # images, small crops V, embedding width, prototypes


def tiny_oss() -> nn.Module:
    """The online OSS model of the configs, small (ResNet-18 of width 8 for both networks), float64, training
    mode."""
    model_cfg = Config.fromfile(MODEL).model
    model_cfg.teacher_backbone.update(depth=18, stem_channels=8, base_channels=8)
    model_cfg.backbone.update(stem_channels=8, base_channels=8)
    model_cfg.teacher_neck.update(in_channels=64, hidden_channels=16, out_channels=E)
    model_cfg.neck.update(in_channels=64, hidden_channels=16, out_channels=E, dropout=(0.3, 0.3))
    model_cfg.head.update(feat_dim=E, num_prototypes=K, queue_length=0)
    model_cfg.classifier.update(in_channels=E, hidden_channels=6)
    torch.manual_seed(0)
    model = MODELS.build(model_cfg).double().train()
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():  # prototypes off the unit sphere (the loss must normalise them), D far from its init
        model.head.prototypes.weight.copy_(torch.randn(K, E, generator=gen, dtype=torch.float64) * 3)
        for m in model.classifier.modules():
            if isinstance(m, (nn.Linear, nn.BatchNorm1d)):
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen, dtype=torch.float64))
                m.bias.copy_(torch.randn(m.bias.shape, generator=gen, dtype=torch.float64))
    return model


def sinkhorn(scores: torch.Tensor, iterations: int, epsilon: float) -> torch.Tensor:
    """SwAV's Sinkhorn-Knopp (B, K) written out: exp(scores / ε) normalised to total mass 1, then alternately each
    prototype scaled to mass 1/K and each sample to 1/B; the rows returned summing to 1."""
    q = [[math.exp(float(s) / epsilon) for s in row] for row in scores]
    total = sum(map(sum, q))
    q = [[x / total for x in row] for row in q]
    num_samples, num_prototypes = len(q), len(q[0])
    for _ in range(iterations):
        for k in range(num_prototypes):
            mass = sum(q[b][k] for b in range(num_samples))
            for b in range(num_samples):
                q[b][k] /= mass * num_prototypes
        for b in range(num_samples):
            mass = sum(q[b])
            q[b] = [x / (mass * num_samples) for x in q[b]]
    return torch.tensor([[x * num_samples for x in row] for row in q], dtype=torch.float64)


def swapped_prediction(scores: torch.Tensor, codes: List[torch.Tensor], temperature: float) -> float:
    """loss = Σ_i Σ_{v != i} -mean_b Σ_k q_i[b, k] log softmax(s_v[b] / τ)[k] / (2 (2 + V) - 2) / 2 (l. 43-51)."""
    chunks = len(scores) // B
    loss = 0.
    for i, q in enumerate(codes):
        for v in range(chunks):
            if v == i:
                continue
            total = 0.
            for b in range(B):
                row = [float(s) / temperature for s in scores[v * B + b]]
                log_norm = math.log(sum(math.exp(s) for s in row))
                total += sum(float(q[b, k]) * (row[k] - log_norm) for k in range(len(row)))
            loss -= total / B / (chunks - 2) / 2
    return loss


def cross_entropy(logits: torch.Tensor, label: int) -> float:
    """-mean_n log softmax(logits_n)[label], written out."""
    return -sum(float(row[label]) - math.log(sum(math.exp(float(x)) for x in row)) for row in logits) / len(logits)


def forward_and_reference(model: nn.Module) -> Tuple[Dict[str, torch.Tensor], Dict[str, float], dict]:
    """The model's losses of one batch, their written-out reference, and what the reference used."""
    gen = torch.Generator().manual_seed(2)
    views = [torch.randn(B, 3, 32, 32, generator=gen, dtype=torch.float64) for _ in range(2)]
    views += [torch.randn(B, 3, 16, 16, generator=gen, dtype=torch.float64) for _ in range(SMALL_VIEWS)]
    prototypes = nn.functional.normalize(model.head.prototypes.weight.detach().clone(), dim=1)
    recorded: Dict[str, List[Tuple[torch.Tensor, torch.Tensor]]] = dict(teacher=[], student=[])
    hooks = [
        neck.register_forward_hook(lambda module, args, out, key=key: recorded[key].append(out))
        for key, neck in (('teacher', model.teacher_neck), ('student', model.neck))
    ]
    try:
        losses = model.loss(views, None)
    finally:
        for hook in hooks:
            hook.remove()
    # each head runs once over all views (SwAV's MultiCropWrapper): (z, z̃) and (w, w̃), view after view
    assert [len(v) for v in recorded.values()] == [1, 1]
    (z, z_drop), (w, w_drop) = [tuple(t.detach() for t in recorded[key][0]) for key in ('teacher', 'student')]
    head = model.head
    codes = [sinkhorn(z[i * B:(i + 1) * B] @ prototypes.t(), head.sinkhorn_iterations, head.epsilon) for i in (0, 1)]
    teacher, student = torch.cat([z, z_drop]), torch.cat([w, w_drop])
    with torch.no_grad():
        d_teacher, d_student = model.classifier.mlp(teacher), model.classifier.mlp(student)
    reference = dict(loss_teacher=swapped_prediction(teacher @ prototypes.t(), codes, head.temperature),
                     loss_student=swapped_prediction(student @ prototypes.t(), codes, head.temperature),
                     loss_adversarial=cross_entropy(d_teacher, 0) + cross_entropy(d_student, 1))
    used = dict(z=z, z_drop=z_drop, w=w, w_drop=w_drop, prototypes=prototypes, d_teacher=d_teacher, d_student=d_student,
                views=views)
    return losses, reference, used


@pytest.fixture(scope='module')
def one_step() -> tuple:
    """The model, its losses, their reference and what the reference used, for one batch."""
    model = tiny_oss()
    return (model, ) + forward_and_reference(model)


def test_losses_and_their_sum_match_the_written_out_equations(one_step):
    """loss_teacher, loss_student, loss_adversarial (D: label 0 teacher, 1 student) and the total the optimizer
    steps on, L = loss1 + loss2 + CE(D(z, z̃), 0) + CE(D(w, w̃), 1), are the equations' values."""
    model, losses, reference, used = one_step
    assert set(losses) == set(reference)
    for key, value in reference.items():
        assert float(losses[key].detach()) == pytest.approx(value, rel=1e-9, abs=1e-12), key
    total, _ = model.parse_losses(losses)
    assert float(total.detach()) == pytest.approx(sum(reference.values()), rel=1e-9)
    # the prototypes were normalised in place before use (l. 60-61, done before the step as mmselfsup's SwAV)
    torch.testing.assert_close(model.head.prototypes.weight.detach(), used['prototypes'], rtol=0, atol=1e-15)
    # the embeddings are ℓ2-normalised, the dropout views differ from the clean ones (training mode)
    for name in ('z', 'z_drop', 'w', 'w_drop'):
        assert used[name].shape == ((2 + SMALL_VIEWS) * B, E)
        torch.testing.assert_close(used[name].norm(dim=1), torch.ones((2 + SMALL_VIEWS) * B, dtype=torch.float64))
    assert not torch.allclose(used['z'], used['z_drop']) and not torch.allclose(used['w'], used['w_drop'])


def test_reference_tells_wrong_assemblies_apart(one_step):
    """The case is not degenerate, so the comparison above fails for each likely mistake: swapped D labels, the
    codes taken from the student's embeddings or from the small crops, the prototypes left unnormalised, or a
    divisor of 2 (2 + V) - 1."""
    model, losses, reference, used = one_step
    z, w, prototypes, tau = used['z'], used['w'], used['prototypes'], model.head.temperature
    iterations, epsilon = model.head.sinkhorn_iterations, model.head.epsilon
    teacher = torch.cat([z, used['z_drop']])

    def far(value: float, key: str) -> bool:
        return abs(value - reference[key]) > 1e-6 * max(1., abs(reference[key]))

    assert far(cross_entropy(used['d_teacher'], 1) + cross_entropy(used['d_student'], 0), 'loss_adversarial')
    student_codes = [sinkhorn(w[i * B:(i + 1) * B] @ prototypes.t(), iterations, epsilon) for i in (0, 1)]
    assert far(swapped_prediction(teacher @ prototypes.t(), student_codes, tau), 'loss_teacher')
    crop_codes = [sinkhorn(z[i * B:(i + 1) * B] @ prototypes.t(), iterations, epsilon) for i in (2, 3)]
    assert far(swapped_prediction(teacher @ prototypes.t(), crop_codes, tau), 'loss_teacher')
    raw = torch.randn(K, E, generator=torch.Generator().manual_seed(1), dtype=torch.float64) * 3  # tiny_oss's
    torch.testing.assert_close(nn.functional.normalize(raw, dim=1), prototypes)
    raw_codes = [sinkhorn(z[i * B:(i + 1) * B] @ raw.t(), iterations, epsilon) for i in (0, 1)]
    assert far(swapped_prediction(teacher @ raw.t(), raw_codes, tau), 'loss_teacher')
    chunks = 2 * (2 + SMALL_VIEWS)
    assert far(reference['loss_teacher'] * (chunks - 2) / (chunks - 1), 'loss_teacher')
