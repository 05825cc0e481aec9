"""OSS online and offline: Sinkhorn, the swapped prediction, gradient reversal, who learns, the views, a real run."""
import copy
import math
import os
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.optim import build_optim_wrapper
from mmengine.runner import Runner

from mmpcd.engine.hooks import OSSHook
from mmpcd.models import FeatureClassifier, GradientReversal, OSSHead, OSSProjection
from mmpcd.models.teachers import load_teacher_checkpoint
from mmpcd.models.utils import CheckpointMismatchError, grl_alpha
from mmpcd.testing import random_teacher
from mmselfsup.registry import MODELS, TRANSFORMS
from mmselfsup.utils import distributed_sinkhorn

from conftest import REPO

ONLINE = osp.join(REPO, 'configs', 'oss', 'oss_resnet18-r50_4xb64-coslr-100e_in1k.py')
OFFLINE = osp.join(REPO, 'configs', 'oss', 'oss-offline_resnet18-swav-r50_4xb64-coslr-130e_in1k.py')
ONLINE_CPU = osp.join(REPO, 'configs', 'oss', 'cpu', 'oss_resnet18-r50_1xb32-lars-15e_cifar10-mini.py')


def slow_sinkhorn(scores, iterations, epsilon):
    """Sinkhorn-Knopp from its definition (SwAV, Sec. 3.1): Q = exp(Cᵀ Z / ε) / Σ, then alternately each
    prototype's row scaled to mass 1/K and each sample's column to 1/B; the columns scaled to sum to 1."""
    num_samples, num_prototypes = len(scores), len(scores[0])
    q = [[math.exp(s / epsilon) for s in row] for row in scores]  # B x K
    total = sum(map(sum, q))
    q = [[x / total for x in row] for row in q]
    for _ in range(iterations):
        for k in range(num_prototypes):
            mass = sum(q[b][k] for b in range(num_samples))
            for b in range(num_samples):
                q[b][k] /= mass * num_prototypes
        for b in range(num_samples):
            mass = sum(q[b])
            q[b] = [x / (mass * num_samples) for x in q[b]]
    return [[x * num_samples for x in row] for row in q]


def test_sinkhorn_against_the_definition():
    torch.manual_seed(0)
    scores = torch.nn.functional.normalize(torch.randn(6, 8, dtype=torch.float64), dim=1) * 0.5
    codes = distributed_sinkhorn(scores.clone(), 3, 1, 0.05)
    assert torch.allclose(codes, torch.tensor(slow_sinkhorn(scores.tolist(), 3, 0.05), dtype=torch.float64))
    assert torch.allclose(codes.sum(dim=1), torch.ones(6, dtype=torch.float64))  # each sample: one assignment
    converged = distributed_sinkhorn(scores.clone(), 300, 1, 0.05)
    # equipartition: every prototype gets B / K of the mass
    assert torch.allclose(converged.sum(dim=0), torch.full((8, ), 6 / 8, dtype=torch.float64), atol=1e-6)


def slow_swapped_loss(scores, codes, temperature):
    """Pseudo-code lines 43-51 of OSS appendix A.1, element by element."""
    batch = len(codes[0])
    chunks = len(scores) // batch
    loss = 0.
    for i, q in enumerate(codes):
        subloss = 0.
        for v in range(chunks):
            if v == i:
                continue
            total = 0.
            for b in range(batch):
                row = scores[v * batch + b]
                norm = math.log(sum(math.exp(s / temperature) for s in row))
                total += sum(qk * (s / temperature - norm) for qk, s in zip(q[b], row))
            subloss -= total / batch
        loss += subloss / (2 * chunks // 2 - 2) / 2
    return loss


def test_swapped_prediction_against_the_pseudo_code():
    torch.manual_seed(0)
    head = OSSHead(feat_dim=4, num_prototypes=5, queue_length=0).double()
    batch, views = 3, 2 + 1  # 2 full-resolution views and V = 1 small crop, each with its dropout view
    scores = torch.randn(2 * views * batch, 5, dtype=torch.float64)
    codes = [torch.softmax(torch.randn(batch, 5, dtype=torch.float64), dim=1) for _ in range(2)]
    expected = slow_swapped_loss(scores.tolist(), [q.tolist() for q in codes], 0.1)
    assert head.loss(scores, codes).item() == pytest.approx(expected, rel=1e-10)


def test_codes_fill_the_queue_once_active_and_use_it_once_full():
    torch.manual_seed(0)
    head = OSSHead(feat_dim=4, num_prototypes=5, queue_length=4)
    prototypes = torch.nn.functional.normalize(torch.randn(5, 4), dim=1)
    batches = [torch.nn.functional.normalize(torch.randn(3 * 2, 4), dim=1) for _ in range(3)]  # B = 2, 3 views
    head.codes(batches[0], prototypes, batch=2)
    assert not head.queue.any()  # not active yet (before the queue's epoch)
    head.queue_active = True
    first = head.codes(batches[0], prototypes, batch=2)
    assert torch.equal(head.queue[:, :2], torch.stack([batches[0][:2], batches[0][2:4]]))
    assert not head.queue[:, 2:].any()
    for q, view in zip(first, (batches[0][:2], batches[0][2:4])):  # not full: the batch alone
        assert torch.allclose(q, distributed_sinkhorn(view @ prototypes.t(), 3, 1, 0.05))
    head.codes(batches[1], prototypes, batch=2)  # now full
    queued = head.queue.clone()
    codes = head.codes(batches[2], prototypes, batch=2)
    for i, q in enumerate(codes):  # the queue's scores appended, the current batch's codes kept
        scores = torch.cat([queued[i] @ prototypes.t(), batches[2][2 * i:2 * i + 2] @ prototypes.t()])
        assert torch.allclose(q, distributed_sinkhorn(scores, 3, 1, 0.05)[-2:])
    assert torch.equal(head.queue[0], torch.cat([batches[2][:2], queued[0, :2]]))
    with pytest.raises(ValueError, match='queue_length'):
        head.codes(torch.randn(3 * 8, 4), prototypes, batch=8)
    no_queue = OSSHead(feat_dim=4, num_prototypes=5, queue_length=0)
    no_queue.queue_active = True  # queue_length=0: codes of the batch alone, from any epoch
    assert torch.allclose(
        no_queue.codes(batches[0], prototypes, batch=2)[0],
        distributed_sinkhorn(batches[0][:2] @ prototypes.t(), 3, 1, 0.05))


def test_gradient_reversal_flips_and_scales_by_alpha_at_step_n():
    assert grl_alpha(0, 100) == 0
    assert grl_alpha(50, 100) == pytest.approx(2 / (1 + math.exp(-5)) - 1)
    assert grl_alpha(100, 100) == pytest.approx(2 / (1 + math.exp(-10)) - 1)
    classifier = FeatureClassifier(in_channels=4, hidden_channels=3)
    head = OSSHead(feat_dim=4, num_prototypes=5, queue_length=0)
    model = SimpleNamespace(classifier=classifier, head=head)
    hook = OSSHook(queue_start_epoch=2, freeze_prototypes_iters=30)
    for n in (0, 29, 30, 99):
        hook.before_train_iter(SimpleNamespace(model=model, iter=n, max_iters=100), 0)
        assert classifier.grl.alpha == grl_alpha(n, 100)
        assert head.prototypes.weight.requires_grad is (n >= 30)
    for epoch, active in ((1, False), (2, True)):
        hook.before_train_epoch(SimpleNamespace(model=model, epoch=epoch))
        assert head.queue_active is active
    x = torch.randn(5, 4, requires_grad=True)
    upstream = torch.randn(5, 4)
    (GradientReversal(alpha=0.3)(x) * upstream).sum().backward()
    assert torch.allclose(x.grad, -0.3 * upstream)
    # through D: the embeddings get -α times the gradient D alone would give, D its own gradient
    emb = torch.randn(6, 4, requires_grad=True)
    classifier.loss(emb, 1).backward()
    reversed_grad, d_grad = emb.grad.clone(), classifier.mlp[0].weight.grad.clone()
    emb.grad, classifier.mlp[0].weight.grad = None, None
    logits = classifier.mlp(emb)
    torch.nn.functional.cross_entropy(logits, torch.ones(6, dtype=torch.long)).backward()
    assert torch.allclose(reversed_grad, -grl_alpha(99, 100) * emb.grad, atol=1e-7)
    assert torch.allclose(d_grad, classifier.mlp[0].weight.grad)


def test_dropout_view_only_in_training():
    neck = OSSProjection(8, hidden_channels=16, out_channels=4, dropout=(0.5, 0.5))
    x = torch.randn(6, 8, 2, 2)
    z, z_drop = neck(x)
    assert torch.allclose(z.norm(dim=1), torch.ones(6)) and not torch.allclose(z, z_drop)
    neck.eval()
    z, z_drop = neck(x)
    assert torch.equal(z, z_drop)


def small_online_cfg() -> Config:
    """The online config with a small teacher and head, for CPU tests."""
    cfg = Config.fromfile(ONLINE)
    cfg.model.teacher_backbone.depth = 18
    cfg.model.teacher_neck.update(in_channels=512, hidden_channels=64)
    cfg.model.neck.hidden_channels = 64
    cfg.model.head.update(num_prototypes=30, queue_length=8)
    return cfg


@pytest.fixture(scope='module')
def swav_ckpt(tmp_path_factory) -> str:
    path = str(tmp_path_factory.mktemp('teachers') / 'swav_800ep_pretrain.pth.tar')
    torch.save(random_teacher('swav_prototypes', 0), path)
    return path


def test_offline_teacher_stays_bit_identical_and_student_learns(swav_ckpt):
    cfg = Config.fromfile(OFFLINE)
    cfg.model.update(teacher_ckpt=swav_ckpt)
    cfg.model.head.queue_length = 8
    model = MODELS.build(cfg.model)
    model.init_weights()
    released = torch.load(swav_ckpt, weights_only=True)
    assert torch.equal(model.teacher.neck.prototypes.weight, released['module.prototypes.weight'])
    assert torch.equal(model.teacher.neck.mlp[3].bias, released['module.projection_head.3.bias'])
    model.head.queue_active = True
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    teacher_before = copy.deepcopy(model.teacher.state_dict())
    student_before = copy.deepcopy(model.backbone.state_dict())
    views = [torch.rand(2, 3, 32, 32)] * 2 + [torch.rand(2, 3, 16, 16)] * 2
    for _ in range(2):
        assert math.isfinite(float(model.train_step(dict(inputs=views, data_samples=None), optim_wrapper)['loss']))
    for k, v in model.teacher.state_dict().items():  # weights, prototypes and BN statistics, bit for bit
        assert torch.equal(v, teacher_before[k]), k
    assert not torch.equal(model.backbone.layer4[1].conv2.weight, student_before['layer4.1.conv2.weight'])
    assert model.head.queue[:, :4].any()  # the teacher's embeddings of 2 steps x 2 images


def test_swav_without_prototypes_is_a_clear_error(tmp_path):
    checkpoint = random_teacher('swav', 0)
    del checkpoint['module.prototypes.weight']
    path = str(tmp_path / 'swav.pth')
    torch.save(checkpoint, path)
    with pytest.raises(CheckpointMismatchError, match='module.prototypes.weight'):
        load_teacher_checkpoint(path, 'swav_prototypes')


@pytest.mark.parametrize('config, full, small', [(ONLINE, 224, 96), (ONLINE_CPU, 64, 27)])
def test_multi_crop_pipeline_yields_2_full_and_6_small_views(config, full, small):
    cfg = Config.fromfile(config)
    image = osp.join(REPO, 'data', 'cifar10_mini', 'val', 'airplane')
    results = dict(img_path=osp.join(image, sorted(os.listdir(image))[0]))
    for t in cfg.train_dataloader.dataset.pipeline:
        results = TRANSFORMS.build(t)(results)
    assert [tuple(v.shape) for v in results['inputs']] == [(3, full, full)] * 2 + [(3, small, small)] * 6


def test_cpu_config_keeps_the_appendix_settings_at_their_share_of_the_run():
    """The CPU row's config: the model, lr and decay of A.1; the queue as many batches long (3840 / 256), started
    at the same share of the epochs (15 of 100), and the prototypes frozen for one epoch (SwAV's 5005 iterations
    at batch 256), scaled to batch 32, 15 epochs and the 1000 images of data/cifar10_mini."""
    cfg, paper = Config.fromfile(ONLINE_CPU), Config.fromfile(ONLINE)
    batch, epochs = cfg.train_dataloader.batch_size, cfg.train_cfg.max_epochs
    assert (batch, epochs) == (32, 15)
    for part in ('backbone', 'neck', 'teacher_backbone', 'teacher_neck', 'classifier'):
        assert cfg.model[part] == paper.model[part], part
    head, paper_head = dict(cfg.model.head), dict(paper.model.head)
    assert head.pop('queue_length') == paper_head.pop('queue_length') // 256 * batch
    assert head == paper_head
    hook = cfg.custom_hooks[0]
    assert hook.queue_start_epoch == epochs * 15 // 100
    train = osp.join(REPO, 'data', 'cifar10_mini', 'train')
    images = sum(len(os.listdir(osp.join(train, name))) for name in os.listdir(train))
    assert hook.freeze_prototypes_iters == images // batch
    assert cfg.optimizer == paper.optimizer and not cfg.auto_scale_lr.enable
    cosine, = cfg.param_scheduler
    assert (cosine.eta_min_ratio, cosine.begin, cosine.end) == (1e-3, 0, epochs)


def test_short_real_run_of_online_oss_updates_teacher_and_student(tmp_path):
    cfg = small_online_cfg()
    cfg.work_dir = str(tmp_path)
    pipeline = cfg.train_dataloader.dataset.pipeline
    full, small = pipeline[1]['transforms']
    full[0]['size'], small[0]['size'] = 32, 16
    cfg.train_dataloader = dict(
        batch_size=2, num_workers=0, persistent_workers=False, drop_last=True,
        sampler=dict(type='DefaultSampler', shuffle=True), collate_fn=dict(type='default_collate'),
        dataset=dict(type='ImageFolder', data_root='data/cifar10_mini', ann_file='', indices=4,
                     data_prefix=dict(img_path='train/'), pipeline=pipeline))
    cfg.train_cfg.max_epochs = 2
    cfg.param_scheduler[0].update(T_max=2, end=2)
    cfg.custom_hooks[0].update(queue_start_epoch=1, freeze_prototypes_iters=1)
    cfg.default_hooks.checkpoint.interval = 2
    cfg.sync_bn = None
    runner = Runner.from_cfg(cfg)
    seen, before = [], {}

    class Record(Hook):

        def before_train(self, runner):
            before.update(copy.deepcopy(runner.model.state_dict()))

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            model = runner.model
            seen.append((model.classifier.grl.alpha, int(model.head.queue[0].any(dim=1).sum())))

    runner.register_hook(Record(), 'LOWEST')
    runner.train()
    alphas, filled = zip(*seen)
    assert alphas == tuple(grl_alpha(n, 4) for n in range(4))
    assert filled == (0, 0, 2, 4)  # the queue fills from the second epoch (queue_start_epoch=1)
    for key in ('loss_teacher', 'loss_student', 'loss_adversarial'):
        assert all(math.isfinite(v) for v in runner.message_hub.get_scalar(f'train/{key}').data[0])
    after = runner.model.state_dict()
    for key in ('teacher_backbone.layer4.1.conv2.weight', 'teacher_neck.mlp.3.weight', 'backbone.layer4.1.conv2.weight',
                'neck.mlp.3.weight', 'classifier.mlp.3.weight', 'head.prototypes.weight'):  # one optimizer for all
        assert not torch.equal(after[key], before[key]), key
    assert torch.allclose(after['head.prototypes.weight'].norm(dim=1), torch.ones(30), atol=0.05)


def test_benchmark_scores_no_released_teacher_for_the_oss_row():
    from mmpcd.benchmarks import distillation as bench
    oss = bench.build_model(Config.fromfile(bench.PEER_ROWS['OSS']), seed=0)
    assert bench.released_teacher_map(oss) is None  # its ResNet-50 is trained beside the student
    pcd = bench.build_model(Config.fromfile(bench.ROWS['PCD']), seed=0)
    assert bench.released_teacher_map(pcd) == pcd.teacher.backbone_map


def test_configs_hold_the_appendix_settings():
    online, offline = Config.fromfile(ONLINE), Config.fromfile(OFFLINE)
    for cfg in (online, offline):
        head = cfg.model.head
        assert (head.feat_dim, head.temperature, head.epsilon, head.sinkhorn_iterations,
                head.queue_length) == (128, 0.1, 0.05, 3, 3840)
        assert tuple(cfg.model.neck.dropout) == (0.1, 0.05) and cfg.model.neck.hidden_channels == 2048
        assert cfg.train_dataloader.batch_size * 4 == 256 and cfg.auto_scale_lr.base_batch_size == 256
        assert (cfg.optimizer.type, cfg.optimizer.lr, cfg.optimizer.weight_decay) == ('LARS', 0.6, 1e-6)
        cosine, = cfg.param_scheduler
        assert cosine.eta_min_ratio * cfg.optimizer.lr == pytest.approx(0.0006) and cosine.begin == 0
        assert cosine.end == cfg.train_cfg.max_epochs == {'OSS': 100, 'OSSOffline': 130}[cfg.model.type]
        assert cfg.custom_hooks[0].queue_start_epoch == 15 and cfg.sync_bn == 'torch'
    assert online.model.head.num_prototypes == 3000 and online.model.classifier.hidden_channels == 100
    assert tuple(online.model.teacher_neck.dropout) == (0.1, 0.05) and online.model.teacher_backbone.depth == 50
    assert offline.model.teacher.neck.num_prototypes == 3000 and offline.model.head.num_prototypes is None
    assert offline.model.teacher_ckpt_format == 'swav_prototypes'


def test_residual_branches_are_not_zero_initialised_as_swav():
    """SwAV's main_swav.py builds its ResNet with src/resnet50.py's default zero_init_residual=False (A.1 takes
    SwAV's settings): after init_weights the last BN of each residual branch is 1, not 0 (mmcls's default)."""
    model = MODELS.build(Config.fromfile(ONLINE_CPU).model)
    model.init_weights()
    last_bns = [block.norm2 for layer in range(1, 5) for block in getattr(model.backbone, f'layer{layer}')]
    last_bns += [block.norm3 for layer in range(1, 5) for block in getattr(model.teacher_backbone, f'layer{layer}')]
    assert len(last_bns) == 8 + 16 and all(torch.equal(bn.weight, torch.ones_like(bn.weight)) for bn in last_bns)
    assert Config.fromfile(OFFLINE).model.backbone.zero_init_residual is False
