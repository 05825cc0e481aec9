"""DINO and SSLight's recipe: centring, the α re-weighting, the temperature schedule, the views, real steps."""
import math
import os
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.logging import MessageHub
from mmengine.runner import Runner

from mmpcd.datasets import matched_local_size, mean_pixel_scale_ratio
from mmpcd.models import DINOHead, DINOProjection
from mmpcd.models.heads.dino_head import teacher_temperature
from mmselfsup.registry import MODELS, TRANSFORMS

from conftest import REPO

DINO_CPU = osp.join(REPO, 'configs', 'dino', 'cpu', 'dino_resnet18_1xb32-lars-15e_cifar10-mini.py')
IMAGE = osp.join(REPO, 'data', 'cifar10_mini', 'val', 'airplane',
                 sorted(os.listdir(osp.join(REPO, 'data', 'cifar10_mini', 'val', 'airplane')))[0])
SSLIGHT_CPU = osp.join(REPO, 'configs', 'sslight', 'cpu', 'sslight_resnet18_1xb32-lars-15e_cifar10-mini.py')


def slow_dino_loss(student, teacher, center, student_temp, teacher_temp, num_global, alpha):
    """DINO's cross-entropies from the definitions, element by element, re-weighted as SSLight eq. 2 / eq. 3."""
    batch = len(teacher) // num_global
    num_views = len(student) // batch

    def softmax(row, temp):
        exps = [math.exp(x / temp) for x in row]
        return [e / sum(exps) for e in exps]

    pairs = {True: [], False: []}
    for t in range(num_global):
        for v in range(num_views):
            if v == t:
                continue
            total = 0.
            for b in range(batch):
                p_t = softmax([x - c for x, c in zip(teacher[t * batch + b], center)], teacher_temp)
                p_s = softmax(student[v * batch + b], student_temp)
                total -= sum(pt * math.log(ps) for pt, ps in zip(p_t, p_s))
            pairs[v < num_global].append(total / batch)
    if alpha is None:
        return sum(pairs[True] + pairs[False]) / (len(pairs[True]) + len(pairs[False]))
    return alpha * sum(pairs[True]) / len(pairs[True]) + (1 - alpha) * sum(pairs[False]) / len(pairs[False])


@pytest.mark.parametrize('alpha', [None, 0.4, 0.])
def test_loss_and_alpha_weighting_against_the_definitions(alpha):
    torch.manual_seed(0)
    num_global, num_local, batch, k = 2, 3, 2, 5
    student = torch.randn((num_global + num_local) * batch, k, dtype=torch.float64)
    teacher = torch.randn(num_global * batch, k, dtype=torch.float64)
    head = DINOHead(k, num_global_views=num_global, teacher_temp=0.05, global_weight=alpha).double()
    head.center.copy_(torch.randn(1, k))
    center = head.center[0].tolist()
    expected = slow_dino_loss(student.tolist(), teacher.tolist(), center, 0.1, 0.05, num_global, alpha)
    assert head.loss(student, teacher).item() == pytest.approx(expected, rel=1e-10)
    # SSLight eq. 2 (DINO) is eq. 3 with α = P_gg / (P_gg + P_gl) = 2 / (2 + 6) for 2 + 3 views
    if alpha is None:
        eq3 = DINOHead(k, num_global_views=2, teacher_temp=0.05, global_weight=2 / 8).double()
        eq3.center.copy_(torch.tensor([center]))
        assert eq3.loss(student, teacher).item() == pytest.approx(expected, rel=1e-10)


def test_center_update_by_hand():
    head = DINOHead(3, num_global_views=2, center_momentum=0.9)
    head.center.copy_(torch.tensor([[1., 2., 3.]]))
    teacher = torch.tensor([[0., 0., 6.], [2., 4., 0.], [4., 2., 3.], [2., 2., 3.]])  # mean (2, 2, 3)
    head.loss(torch.randn(8, 3), teacher)
    assert head.center[0].tolist() == pytest.approx([0.9 * 1 + 0.1 * 2, 0.9 * 2 + 0.1 * 2, 0.9 * 3 + 0.1 * 3])
    with pytest.raises(ValueError, match='global_weight'):
        DINOHead(3, global_weight=1.5)


def test_teacher_temperature_schedule():
    assert teacher_temperature(0, 0.04, 0.07, 30) == pytest.approx(0.04)
    assert teacher_temperature(29, 0.04, 0.07, 30) == pytest.approx(0.07)
    assert teacher_temperature(10, 0.04, 0.07, 30) == pytest.approx(0.04 + 0.03 * 10 / 29)
    assert teacher_temperature(100, 0.04, 0.07, 30) == 0.07


def test_projection_last_layer_is_weight_normalized_and_freezable():
    neck = DINOProjection(8, out_channels=16, hidden_channels=12, bottleneck_channels=4, with_bn=True)
    out = neck((torch.randn(5, 8, 2, 2), ))
    assert out.shape == (5, 16)
    weight = neck.last_layer.weight  # g = 1 and the input is unit-norm: every output is a cosine, |out| <= 1
    assert torch.allclose(weight.norm(dim=1), torch.ones(16)) and out.abs().max() <= 1 + 1e-6
    neck.freeze_last_layer(True)
    assert not any(p.requires_grad for p in neck.last_layer.parameters())
    neck.freeze_last_layer(False)
    params = neck.last_layer.parametrizations.weight
    assert params.original1.requires_grad and not params.original0.requires_grad  # norm_last_layer


def test_pixel_scale_rule():
    # closed form against sampling the areas as RandomResizedCrop does (uniform in scale)
    gen = torch.Generator().manual_seed(0)
    area_g = 0.3 + 0.7 * torch.rand(200000, generator=gen)
    area_l = 0.05 + 0.25 * torch.rand(200000, generator=gen)
    sampled = ((224 / 100)**2 * area_l / area_g).mean().item()
    assert mean_pixel_scale_ratio(224, 100, 0.3, 0.3) == pytest.approx(sampled, rel=0.01)
    size = matched_local_size(224, 0.3)
    assert mean_pixel_scale_ratio(224, size, 0.3, 0.3) == pytest.approx(1, abs=0.02)
    # the paper's best local sizes (Sec. 3.3.2: 128 at S = 0.3, 103 at S = 0.14) lie near the rule's
    assert abs(size - 128) / 128 < 0.05 and abs(matched_local_size(224, 0.14) - 103) / 103 < 0.02


@pytest.mark.parametrize('config, sizes', [
    ('dino/dino_resnet18_8xb128-coslr-200e_in1k.py', [224] * 2 + [96] * 6),
    ('sslight/sslight_resnet18_8xb128-coslr-200e_in1k.py', [224] * 2 + [128] * 6),
    ('dino/cpu/dino_resnet18_1xb32-lars-15e_cifar10-mini.py', [64] * 2 + [27] * 6),
    ('sslight/cpu/sslight_resnet18_1xb32-lars-15e_cifar10-mini.py', [64] * 2 + [matched_local_size(64, 0.3)] * 6),
])
def test_multi_crop_pipelines_yield_the_stated_views(config, sizes):
    cfg = Config.fromfile(osp.join(REPO, 'configs', config))
    pipeline = [TRANSFORMS.build(t) for t in cfg.train_dataloader.dataset.pipeline]
    results = dict(img_path=IMAGE)
    for t in pipeline:
        results = t(results)
    views = results['inputs']
    assert [v.shape[-1] for v in views] == sizes and [v.shape[-2] for v in views] == sizes
    sslight = 'sslight' in config
    scales = [view[0]['scale'] for view in cfg.train_dataloader.dataset.pipeline[1]['transforms']]
    assert scales == ([(0.3, 1.0)] * 2 + [(0.05, 0.3)] if sslight else [(0.14, 1.0)] * 2 + [(0.05, 0.14)])
    assert cfg.model.head.global_weight == (0.4 if sslight else None)


def test_teacher_is_the_ema_of_the_student():
    cfg = Config.fromfile(DINO_CPU)
    model = MODELS.build(cfg.model)
    model.init_weights()
    MessageHub.get_current_instance().update_info('max_iters', 100)
    views = [torch.rand(2, 3, 32, 32)] * 2 + [torch.rand(2, 3, 16, 16)] * 2
    model.loss(views, None)['loss'].backward()  # step 0 copies the student
    assert torch.equal(model.teacher.module[0].conv1.weight, model.backbone.conv1.weight)
    assert all(p.grad is None for p in model.teacher.parameters())
    teacher_before = model.teacher.module[0].conv1.weight.clone()
    with torch.no_grad():
        model.backbone.conv1.weight.add_(1.)
    model.loss(views, None)
    m = 1 - (1 - 0.996) * (math.cos(math.pi * 1 / 100) + 1) / 2  # CosineEMA at step 1 of 100
    expected = m * teacher_before + (1 - m) * model.backbone.conv1.weight
    assert torch.allclose(model.teacher.module[0].conv1.weight, expected, atol=1e-6)


def test_short_real_run_of_the_sslight_recipe(tmp_path):
    cfg = Config.fromfile(SSLIGHT_CPU)  # DINO's CPU config but the views and α

    cfg.work_dir = str(tmp_path)
    cfg.train_dataloader.update(batch_size=4, num_workers=0, persistent_workers=False)
    cfg.train_dataloader.dataset.indices = 8
    cfg.train_cfg.max_epochs = 2
    cfg.param_scheduler[0].update(end=1)
    cfg.param_scheduler[1].update(begin=1, end=2, T_max=1)
    cfg.custom_hooks[0].update(teacher_temp=0.07, warmup_epochs=2)  # the in1k warm-up (the CPU config keeps 0.04)
    cfg.default_hooks.checkpoint.interval = 2
    runner = Runner.from_cfg(cfg)
    model = runner.model
    seen = []

    class Record(Hook):

        def before_train_epoch(self, runner):
            seen.append((model.head.teacher_temp, model.neck.last_layer.parametrizations.weight.original1.clone()))

    runner.register_hook(Record(), 'LOWEST')  # after DINOHook
    runner.train()
    losses = runner.message_hub.get_scalar('train/loss').data[0]
    assert len(losses) == 4 and all(math.isfinite(v) for v in losses)
    (temp0, last0), (temp1, last1) = seen
    assert (temp0, temp1) == (0.04, pytest.approx(0.07))
    final = model.neck.last_layer.parametrizations.weight.original1
    assert torch.equal(last0, last1) and not torch.equal(last1, final)  # frozen in epoch 0 only
    assert model.head.center.abs().sum() > 0


def test_sslight_configs_hold_table_8_and_mobilenet_v2_builds():
    for backbone in ('resnet18', 'mobilenetv2'):
        cfg = Config.fromfile(osp.join(REPO, 'configs', 'sslight', f'sslight_{backbone}_8xb128-coslr-200e_in1k.py'))
        assert cfg.train_dataloader.batch_size * 8 == 1024 and cfg.auto_scale_lr.base_batch_size == 256
        assert (cfg.optimizer.type, cfg.optimizer.lr, cfg.optimizer.weight_decay) == ('LARS', 0.48, 1e-6)
        warmup, cosine = cfg.param_scheduler
        # the absolute MIN_LR: 0.0048 of saic-fi/SSLight src/config/exp_yamls/dino/dino_cnn_sslight.yaml, not Table
        # 8's lr x 1e-3
        assert (warmup.end, cosine.end, cosine.eta_min, cfg.train_cfg.max_epochs) == (10, 200, 0.0048, 200)
        assert 'eta_min_ratio' not in cosine
        assert cfg.train_dataloader.dataset.pipeline[1]['num_views'] == [1, 1, 6]
    model = MODELS.build(cfg.model)  # MobileNet v2: the projection takes its 1280-d output
    views = [torch.rand(2, 3, 32, 32)] * 2 + [torch.rand(2, 3, 16, 16)] * 2
    MessageHub.get_current_instance().update_info('max_iters', 10)
    assert math.isfinite(model.loss(views, None)['loss'].item())


def test_benchmark_table_takes_rows_without_a_teacher_or_a_queue():
    from mmpcd.benchmarks import distillation as bench
    results = dict(top1={bench.RANDOM: [30.0], bench.TEACHER: [], 'PCD': [40.0],
                         'DINO': [35.0]}, loss={'PCD': [[6.0] * 20], 'DINO': [[3.0] * 20]}, num_negatives=1024,
                   chance={'PCD': math.log(1025), 'DINO': None})
    lines = bench.table(results).splitlines()
    assert not any(bench.TEACHER in line for line in lines)  # no released teacher was scored
    assert f'| PCD | 40.0 ± 0.0 | 1 | 6.00 | {math.log(1025) - 6:.2f} nat | - |' in lines
    assert '| DINO | 35.0 ± 0.0 | 1 | 3.00 | - | - |' in lines
    # a run of rows without a queue alone (distill_cpu.py --rows DINO) has no K at all
    del results['top1']['PCD'], results['loss']['PCD'], results['chance']['PCD']
    assert '| DINO | 35.0 ± 0.0 | 1 | 3.00 | - | - |' in bench.table(dict(results, num_negatives=None)).splitlines()


def test_the_head_sees_every_view_in_one_batch():
    """DINO's and SSLight's ``MultiCropWrapper``: the backbone once per resolution, the head once over the pooled
    features of all views, so its BN (train mode) normalizes over the 2 global and the local views together."""
    model = MODELS.build(Config.fromfile(DINO_CPU).model)
    model.init_weights()
    model.train()
    assert isinstance(model.neck.mlp[1], torch.nn.BatchNorm1d)
    torch.manual_seed(0)
    views = [torch.rand(2, 3, 32, 32) for _ in range(2)] + [torch.rand(2, 3, 16, 16) for _ in range(3)]
    backbone_batches, bn_batches = [], []
    hooks = [
        model.backbone.register_forward_hook(lambda m, inputs, out: backbone_batches.append(len(inputs[0]))),
        model.neck.mlp[1].register_forward_hook(lambda m, inputs, out: bn_batches.append(len(inputs[0])))
    ]
    out = model.student(views)
    for hook in hooks:
        hook.remove()
    assert backbone_batches == [4, 6] and bn_batches == [10]
    with torch.no_grad():  # the reference: the pooled features of each resolution, concatenated, through the head
        features = torch.cat(
            [model.backbone(torch.cat(group))[-1].mean(dim=(2, 3)) for group in (views[:2], views[2:])])
        expected = model.neck(features)
        per_resolution = torch.cat([model.neck(features[:4]), model.neck(features[4:])])
    assert out.shape == (10, 1024)
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-6)
    assert not torch.allclose(out, per_resolution, atol=1e-3)  # the head's BN per resolution gives other outputs
