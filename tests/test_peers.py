"""The image-level peers of PCD (SEED, CompRess-1q, DisCo): losses against slow references written from their
papers' equations, the frozen teacher and the queues through real train steps, the configs from released layouts."""
import copy
import glob
import math
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import PARAM_SCHEDULERS
from mmengine.runner import Runner
from torch import nn

from mmpcd.export import extract_backbone
from mmpcd.models import SEED, DisCo, EmbeddingQueue, similarity_distillation_loss
from mmselfsup.registry import MODELS

from conftest import REPO

QUEUE = 64


def softmax(logits, j, temperature):
    """exp(l_j / τ) / Σ_k exp(l_k / τ), one term at a time (each exponent shifted by max_k l_k / τ: τ = 1e-4)."""
    top = max(logits)
    return torch.exp((logits[j] - top) / temperature) / sum(torch.exp((logit - top) / temperature) for logit in logits)


def reference_seed(student, teacher, queue, tau_s, tau_t):
    """SEED eq. 3-4: anchors D = [t_i; q_1..q_K]; L = 1/N Σ_i Σ_j -p^T_j(t_i) log p^S_j(s_i)."""
    total = 0.
    for s, t in zip(F.normalize(student, dim=1), F.normalize(teacher, dim=1)):
        anchors = [t] + [queue[:, k] for k in range(queue.shape[1])]
        s_logits, t_logits = [s @ d for d in anchors], [t @ d for d in anchors]
        total = total - sum(
            softmax(t_logits, j, tau_t) * torch.log(softmax(s_logits, j, tau_s)) for j in range(len(anchors)))
    return total / len(student)


def reference_compress(student, teacher, queue, tau):
    """CompRess (nn/compress_loss.py, CompReSSA): KL(p^T || p^S) over the queue alone, averaged over the batch."""
    total = 0.
    for s, t in zip(F.normalize(student, dim=1), F.normalize(teacher, dim=1)):
        s_logits = [s @ queue[:, k] for k in range(queue.shape[1])]
        t_logits = [t @ queue[:, k] for k in range(queue.shape[1])]
        total = total + sum(
            softmax(t_logits, j, tau) * (torch.log(softmax(t_logits, j, tau)) - torch.log(softmax(s_logits, j, tau)))
            for j in range(len(s_logits)))
    return total / len(student)


def embeddings(n=3, c=6, k=5):
    gen = torch.Generator().manual_seed(0)
    student = torch.randn(n, c, dtype=torch.float64, generator=gen, requires_grad=True)
    teacher = torch.randn(n, c, dtype=torch.float64, generator=gen)
    return student, teacher, F.normalize(torch.randn(c, k, dtype=torch.float64, generator=gen), dim=0)


@pytest.mark.parametrize('tau_s,tau_t', [(0.2, 0.01), (0.2, 1e-4), (0.07, 0.07)])
def test_seed_loss_and_gradient_match_its_equation(tau_s, tau_t):
    student, teacher, queue = embeddings()
    loss = similarity_distillation_loss(F.normalize(student, dim=1), F.normalize(teacher, dim=1), queue, tau_s, tau_t)
    expected = reference_seed(student, teacher, queue, tau_s, tau_t)
    torch.testing.assert_close(loss, expected, rtol=1e-10, atol=1e-10)
    grad, = torch.autograd.grad(loss, student)
    expected_grad, = torch.autograd.grad(expected, student)
    torch.testing.assert_close(grad, expected_grad, rtol=1e-9, atol=1e-12)


def test_compress_loss_is_its_kl_plus_the_teachers_entropy():
    """CompRess-1q: the cross-entropy without the positive minus H(p^T) is CompRess's KL; the same gradient."""
    student, teacher, queue = embeddings()
    t = F.normalize(teacher, dim=1)
    loss = similarity_distillation_loss(F.normalize(student, dim=1), t, queue, 0.04, 0.04, with_positive=False)
    p_t = F.softmax(t @ queue / 0.04, dim=1)
    entropy = -(p_t * p_t.log()).sum(dim=1).mean()
    expected = reference_compress(student, teacher, queue, 0.04)
    torch.testing.assert_close(loss - entropy, expected, rtol=1e-10, atol=1e-10)
    grad, = torch.autograd.grad(loss, student)
    expected_grad, = torch.autograd.grad(expected, student)
    torch.testing.assert_close(grad, expected_grad, rtol=1e-9, atol=1e-12)


def test_a_student_that_knows_nothing_is_at_chance():
    """Equal student similarities to every anchor: log(K + 1) whatever the teacher (the benchmark's chance line)."""
    _, teacher, queue = embeddings(k=9)
    student = torch.zeros(3, 6, dtype=torch.float64)
    loss = similarity_distillation_loss(student, F.normalize(teacher, dim=1), queue, 0.2, 0.01)
    assert float(loss) == pytest.approx(torch.log(torch.tensor(10.)).item())


def test_queue_is_a_ring_buffer():
    queue = EmbeddingQueue(queue_len=5, feat_dim=2)
    keys = F.normalize(torch.randn(7, 2), dim=1)
    queue.push(keys[:3])
    queue.push(keys[3:])  # 4 keys from slot 3: slots 3, 4, 0, 1
    assert int(queue.queue_ptr) == 2
    torch.testing.assert_close(queue.queue.t(), keys[[5, 6, 2, 3, 4]])


def small_queue(model_cfg: dict, teacher_ckpt: str) -> dict:
    """A model config with the random released-layout teacher and a queue of QUEUE keys (the head's, or DisCo's)."""
    model_cfg = {**copy.deepcopy(model_cfg), 'teacher_ckpt': teacher_ckpt}
    (model_cfg.get('queue') or model_cfg['head'])['queue_len'] = QUEUE
    return model_cfg


def base_model(name: str) -> dict:
    """The model of configs/_base_/models/{name}_r18.py."""
    return Config.fromfile(osp.join(REPO, 'configs', '_base_', 'models', f'{name}_r18.py')).model.to_dict()


@pytest.fixture
def seed_cfg(mocov3_ckpt) -> dict:
    return small_queue(base_model('seed'), mocov3_ckpt)


@pytest.fixture
def disco_cfg(mocov3_ckpt) -> dict:
    return small_queue(base_model('disco'), mocov3_ckpt)


def released_head(mocov3_ckpt) -> nn.Sequential:
    """MoCo v3's whole released projection head, ``fc.0-4`` of ``momentum_encoder`` (moco-v3 builder.py
    ``_build_mlp``: Linear - BN - ReLU - Linear - BN(affine=False)), in eval mode."""
    state = torch.load(mocov3_ckpt, weights_only=True)['state_dict']
    head = nn.Sequential(nn.Linear(2048, 4096, bias=False), nn.BatchNorm1d(4096), nn.ReLU(),
                         nn.Linear(4096, 256, bias=False), nn.BatchNorm1d(256, affine=False))
    prefix = 'module.momentum_encoder.fc.'
    head.load_state_dict({k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)})
    return head.eval()


@pytest.mark.parametrize('name', ['seed', 'disco'])
def test_teacher_embedding_is_the_whole_released_head_on_the_pooled_backbone(name, seed_cfg, disco_cfg, mocov3_ckpt):
    """SEED's and DisCo's teacher embedding is the teacher network's output, its whole head (SEED's seed/builder.py:
    ``t_emb = self.teacher(image)``; DisCo's ``teacher_encoder_q(im_q)``): MoCo v3's last BN (random running
    statistics here) is kept, unlike PCD's adaptor."""
    model = MODELS.build(seed_cfg if name == 'seed' else disco_cfg)
    images = torch.randn(2, 3, 64, 64)
    pooled = model.teacher.backbone_map(images).mean(dim=(2, 3))
    with torch.no_grad():
        expected = released_head(mocov3_ckpt)(pooled)  # Conv1x1 and Linear sum in different orders: fp32 error
        without_last_bn = released_head(mocov3_ckpt)[:4](pooled)
    torch.testing.assert_close(model.teacher.embedding(images), expected, rtol=1e-4,
                               atol=1e-5 * expected.abs().max().item())
    assert not torch.allclose(F.normalize(expected, dim=1), F.normalize(without_last_bn, dim=1), atol=1e-2)
    assert model.neck.mlp[2].out_features == 256  # the widths follow the teacher
    assert (model.head if name == 'seed' else model.queue).queue.shape == (256, QUEUE)


def test_seed_loss_is_its_equation_on_each_view_then_the_teacher_is_enqueued(seed_cfg):
    torch.manual_seed(0)
    model = MODELS.build(seed_cfg).eval()
    # jacobswan1/SEED:tools/opts.py: --temp 0.2, --distill-t 1e-4
    assert (model.head.student_temperature, model.head.teacher_temperature) == (0.2, 1e-4)
    views = [torch.randn(2, 3, 64, 64), torch.randn(2, 3, 64, 64)]
    queue = model.head.queue.clone().double()
    with torch.no_grad():
        students = [model.student_embedding(v).double() for v in views]
        teachers = [model.teacher.embedding(v).double() for v in views]
        loss = model.loss(views, [])['loss']
    expected = sum(reference_seed(s, t, queue, 0.2, 1e-4) for s, t in zip(students, teachers)) / 2
    assert float(loss) == pytest.approx(float(expected), rel=1e-4)
    assert int(model.head.queue_ptr) == 4
    torch.testing.assert_close(model.head.queue[:, :4].t(), F.normalize(torch.cat(teachers), dim=1).float())


def reference_disco(q, qk, k, teacher_q, teacher_qk, queue, tau):
    """DisCo-pytorch, written out one image and one channel at a time: ``MoCo.forward`` of
    ``DisCo/moco/builder_kq_mse_largeembedding_2048.py`` (logits [q·k; q·queue] / T, label 0) and ``DisCo/main.py``:
    ``criterion`` (``nn.CrossEntropyLoss()``, the mean over images), ``criterion_mse`` (``nn.MSELoss(reduction='sum')``)
    of ``(teacher_q, student_q)`` and ``(teacher_qk, student_qk)``, ``loss = 1.0 * loss + 1.0 * mse_loss + 1.0 *
    mse_loss_qk``. Returns the three terms."""
    contrast = sum(-torch.log(softmax([qi @ ki] + [qi @ queue[:, j] for j in range(queue.shape[1])], 0, tau))
                   for qi, ki in zip(q, k)) / len(q)
    mse_loss = sum((teacher_q[i, c] - q[i, c])**2 for i in range(q.shape[0]) for c in range(q.shape[1]))
    mse_loss_qk = sum((teacher_qk[i, c] - qk[i, c])**2 for i in range(qk.shape[0]) for c in range(qk.shape[1]))
    return contrast, mse_loss, mse_loss_qk


def test_disco_loss_is_its_authors_code_on_both_views(disco_cfg):
    """At the first step the momentum encoder is the student (mmengine copies it), so in eval mode the key is the
    student's embedding of view 2. The three terms and the gradient they send to the student equal DisCo's code in
    float64: the query encoder on both views against the teacher on the same view, squared errors summed over
    images and channels, each with weight 1."""
    torch.manual_seed(0)
    model = MODELS.build(disco_cfg).eval()
    assert model.distill_weight == 1.0  # main.py: 1.0 * mse_loss + 1.0 * mse_loss_qk
    views = [torch.randn(3, 3, 64, 64), torch.randn(3, 3, 64, 64)]
    queue = model.queue.queue.clone().double()
    weight = model.neck.mlp[2].weight
    losses = model.loss(views, [])
    grad, = torch.autograd.grad(sum(losses.values()), weight)
    q, qk = (F.normalize(model.student_embedding(v).double(), dim=1) for v in views)
    with torch.no_grad():
        teacher_q, teacher_qk = (F.normalize(model.teacher.embedding(v).double(), dim=1) for v in views)
    expected = reference_disco(q, qk, qk.detach(), teacher_q, teacher_qk, queue, 0.2)
    for name, value in zip(('loss_contrast', 'loss_distill_q', 'loss_distill_k'), expected):
        assert losses[name].item() == pytest.approx(value.item(), rel=1e-4), name
    view2_grad, = torch.autograd.grad(expected[2], weight, retain_graph=True)
    assert view2_grad.abs().sum() > 0  # the key view's term trains the student too
    expected_grad, = torch.autograd.grad(sum(expected), weight)
    torch.testing.assert_close(grad, expected_grad, rtol=1e-3, atol=1e-5 * expected_grad.abs().max().item())
    torch.testing.assert_close(model.queue.queue[:, :3].t(), qk.detach().float(), rtol=1e-5, atol=1e-5)


def demo_loader(batch_size: int = 4):
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'pcd_r18_demo.py'))
    for view in cfg.train_dataloader.dataset.pipeline[1]['transforms']:
        view[0]['size'] = 64
    cfg.train_dataloader.update(batch_size=batch_size, num_workers=0)
    return cfg, Runner.build_dataloader(cfg.train_dataloader)


@pytest.mark.parametrize('name', ['seed', 'disco'])
def test_real_train_steps_change_the_student_not_the_teacher(name, seed_cfg, disco_cfg):
    """Three steps on real images (data/coco_mini): the teacher is bit for bit the same, the student learns, the
    queue holds the step's normalized keys; DisCo's key encoder is the exponential moving average of the student;
    the export takes the student backbone alone."""
    cfg, loader = demo_loader()
    model = MODELS.build(seed_cfg if name == 'seed' else disco_cfg)
    model.init_weights()
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    teacher_before = copy.deepcopy(model.teacher.state_dict())
    students = [copy.deepcopy(model.backbone.state_dict())]
    queue = model.head if name == 'seed' else model.queue
    model.train()
    for batch in (b for _, b in zip(range(3), loader)):
        log_vars = model.train_step(batch, optim_wrapper)
        assert torch.isfinite(log_vars['loss'])
        students.append(copy.deepcopy(model.backbone.state_dict()))
    for k, v in model.teacher.state_dict().items():  # weights and BN statistics, bit for bit
        assert torch.equal(v, teacher_before[k]), k
    assert not torch.equal(students[-1]['layer4.1.conv2.weight'], students[0]['layer4.1.conv2.weight'])
    assert int(queue.queue_ptr) == 3 * 4 * (2 if name == 'seed' else 1)
    torch.testing.assert_close(queue.queue[:, :int(queue.queue_ptr)].norm(dim=0), torch.ones(int(queue.queue_ptr)))
    if name == 'seed':  # the last step's teacher embeddings of both views, in order
        data, _ = model.data_preprocessor(batch, True)
        torch.testing.assert_close(queue.queue[:, 16:24].t(),
                                   F.normalize(model.teacher.embedding(torch.cat(data)), dim=1), rtol=0, atol=1e-6)
    else:  # update before each step's key: s0, then 0.999 s0 + 0.001 s1, then 0.999 (..) + 0.001 s2
        w = 'layer4.1.conv2.weight'
        expected = 0.999 * (0.999 * students[0][w] + 0.001 * students[1][w]) + 0.001 * students[2][w]
        torch.testing.assert_close(model.encoder_k.module[0].state_dict()[w], expected)
        assert not any(p.requires_grad for p in model.encoder_k.parameters())
    exported = extract_backbone(dict(state_dict=model.state_dict()))  # the export of every algorithm: the student's
    assert exported.keys() == model.backbone.state_dict().keys()  # backbone only (not DisCo's key encoder)
    assert all(torch.equal(v, model.backbone.state_dict()[k]) for k, v in exported.items())
    in_optimizer = {id(p) for g in optim_wrapper.param_groups for p in g['params']}
    assert not any(
        id(p) in in_optimizer
        for p in [*model.teacher.parameters(), *getattr(model, 'encoder_k', nn.Identity()).parameters()])


CONFIGS = sorted(c for d in ('seed', 'disco', 'compress') for c in glob.glob(osp.join(REPO, 'configs', d, '*.py')))


@pytest.mark.parametrize('config', CONFIGS, ids=osp.basename)
def test_configs_build_from_released_teacher_layouts(config, mocov3_ckpt):
    """Every peer config builds its model from a MoCo v3 file in the released layout; the embedding widths follow."""
    model_cfg = small_queue(Config.fromfile(config).model.to_dict(), mocov3_ckpt)  # CompRess's 128000 x 2048: 1 GB
    model = MODELS.build(model_cfg).eval()
    assert isinstance(model, (SEED, DisCo))
    views = [torch.randn(2, 3, 64, 64)] * 2
    width = 256 if model_cfg['teacher']['neck'] is not None else 2048  # the head's output, or the pooled backbone
    assert model.student_embedding(views[0]).shape == model.teacher.embedding(views[0]).shape == (2, width)
    assert torch.isfinite(sum(model.loss(views, []).values()))


def seed_code_lr(epoch: int, lr: float = 0.03, lr_mult: float = 1., warmup_epochs: int = 5, epochs: int = 200) -> float:
    """jacobswan1/SEED:tools/utils.py ``adjust_learning_rate`` with ``args.cos`` (tools/opts.py) and main.py's
    ``lr_mult = batch_size / 256``, ``warmup_epochs = 5``."""
    if epoch < warmup_epochs:
        return lr + (lr * lr_mult - lr) / warmup_epochs * epoch
    return lr * lr_mult * 0.5 * (1. + math.cos(math.pi * epoch / epochs))


def test_seed_recipe_lr_is_its_codes_schedule():
    """configs/seed's SEED recipe sets SEED's lr each epoch: constant 0.03 for the 5 "warm-up" epochs at batch 256
    (to 0.1% in epochs 1-4, where the config's cosine has begun), then exactly its cosine of epoch / 200."""
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'seed', 'seed_resnet18_8xb32-coslr-200e_in1k.py'))
    assert cfg.train_dataloader.batch_size * 8 == 256 and cfg.optim_wrapper.optimizer.lr == 0.03
    optimizer = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=cfg.optim_wrapper.optimizer.lr)
    schedulers = [PARAM_SCHEDULERS.build({**s, 'optimizer': optimizer}) for s in cfg.param_scheduler]
    assert not any(s.by_epoch is False for s in schedulers)  # stepped once an epoch, as SEED's loop sets it
    lrs = []
    for _ in range(cfg.max_epochs):
        lrs.append(optimizer.param_groups[0]['lr'])
        optimizer.step()
        for scheduler in schedulers:
            scheduler.step()
    expected = [seed_code_lr(epoch) for epoch in range(cfg.max_epochs)]
    assert lrs[:5] == pytest.approx(expected[:5], rel=1e-3)
    assert lrs[5:] == pytest.approx(expected[5:], rel=1e-9, abs=1e-12)
