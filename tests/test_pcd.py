"""The PCD algorithm: teacher loading and freezing, train steps on real images, bad input."""
import copy
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.runner import Runner

from mmpcd.models import PCD, CheckpointMismatchError, SpatialAdaptor
from mmpcd.testing import random_teacher
from mmselfsup.registry import MODELS

from conftest import REPO


def demo_cfg(crop_size: int = 64, batch_size: int = 4) -> Config:
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'pcd_r18_demo.py'))
    for view in cfg.train_dataloader.dataset.pipeline[1]['transforms']:
        view[0]['size'] = crop_size
    cfg.train_dataloader.batch_size = batch_size
    cfg.train_dataloader.num_workers = 0
    return cfg


def test_teacher_is_the_momentum_encoder_and_frozen(model_cfg, mocov3_ckpt):
    model = MODELS.build(model_cfg)
    assert isinstance(model, PCD) and isinstance(model.teacher.neck, SpatialAdaptor)
    released = torch.load(mocov3_ckpt, weights_only=True)['state_dict']
    teacher = model.teacher.state_dict()
    assert torch.equal(teacher['backbone.layer3.2.conv2.weight'],
                       released['module.momentum_encoder.layer3.2.conv2.weight'])
    assert not torch.equal(teacher['backbone.layer3.2.conv2.weight'],
                           released['module.base_encoder.layer3.2.conv2.weight'])
    assert torch.equal(teacher['neck.layers.0.weight'][:, :, 0, 0], released['module.momentum_encoder.fc.0.weight'])
    assert torch.equal(teacher['neck.layers.1.running_var'], released['module.momentum_encoder.fc.1.running_var'])
    assert not any(p.requires_grad for p in model.teacher.parameters())
    model.train()
    assert model.backbone.training and not any(m.training for m in model.teacher.modules())
    # init_weights (what the Runner calls) re-initializes the student only
    model.init_weights()
    assert torch.equal(model.teacher.state_dict()['backbone.layer3.2.conv2.weight'],
                       released['module.momentum_encoder.layer3.2.conv2.weight'])


def test_train_steps_change_student_not_teacher(model_cfg):
    cfg = demo_cfg()
    model = MODELS.build(model_cfg)
    model.init_weights()
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    loader = Runner.build_dataloader(cfg.train_dataloader)
    teacher_before = copy.deepcopy(model.teacher.state_dict())
    student_before = copy.deepcopy(model.backbone.state_dict())
    model.train()
    losses = []
    for step, batch in zip(range(3), loader):
        log_vars = model.train_step(batch, optim_wrapper)
        losses.append(float(log_vars['loss']))
    assert all(torch.isfinite(torch.tensor(losses)))
    for k, v in model.teacher.state_dict().items():  # weights and BN statistics, bit for bit
        assert torch.equal(v, teacher_before[k]), k
    changed = [k for k, v in model.backbone.state_dict().items() if not torch.equal(v, student_before[k])]
    assert 'layer4.1.conv2.weight' in changed and 'bn1.running_mean' in changed
    assert int(model.head.queue_ptr) == 3 * 2 * 4 % 64  # 3 steps x 2 views x 4 images


def test_symmetric_asymmetric_and_cross_view(model_cfg):
    """Each variant's loss is the mean of the per-view losses (eq. 4) over its pairs of student and teacher views."""
    torch.manual_seed(0)
    views = [torch.randn(2, 3, 64, 64), torch.randn(2, 3, 64, 64)]
    pairs = dict(symmetric=[(0, 0), (1, 1)], asymmetric=[(0, 0)], cross=[(0, 1), (1, 0)])
    results = {}
    for name, kwargs in dict(symmetric={}, asymmetric=dict(symmetric=False), cross=dict(cross_view=True)).items():
        torch.manual_seed(1)  # the same student and queue for every variant
        model = MODELS.build({**model_cfg, **kwargs})
        model.init_weights()
        model.eval()  # the same BN statistics for every variant
        with torch.no_grad():
            students = [model.student_forward(v) for v in views]
            teachers = [model.teacher(v) for v in views]
            expected = sum(model.head.loss(students[s], teachers[t]) for s, t in pairs[name]) / len(pairs[name])
            results[name] = float(model.loss(views, [])['loss'])
        assert results[name] == pytest.approx(float(expected), rel=1e-5), name
        assert int(model.head.queue_ptr) == (2 if name == 'asymmetric' else 4)
    assert len(set(results.values())) == 3
    with pytest.raises(ValueError, match='symmetric'):
        MODELS.build({**model_cfg, 'symmetric': False, 'cross_view': True})


def test_channels_last_gives_the_same_loss_and_gradients(model_cfg):
    """Both memory layouts, student and teacher, give one loss and one gradient. In float64: the layouts sum in
    different orders, which in float32 moved a gradient by 1.2e-3 of its norm at one thread (1e-3 was the bound)."""
    torch.manual_seed(0)
    views = [torch.randn(2, 3, 64, 64, dtype=torch.float64), torch.randn(2, 3, 64, 64, dtype=torch.float64)]
    results = {}
    for layout in (False, True):
        cfg = copy.deepcopy(model_cfg)
        cfg['channels_last'] = cfg['teacher']['channels_last'] = layout
        torch.manual_seed(1)  # the same student and queue
        model = MODELS.build(cfg)
        model.init_weights()
        model.double().train()
        loss = model.loss(views, [])['loss']
        loss.backward()
        results[layout] = loss, {k: p.grad for k, p in model.named_parameters() if p.grad is not None}
        nhwc = torch.channels_last
        assert model.backbone.conv1.weight.is_contiguous(memory_format=nhwc) == layout
        assert model.teacher.backbone.layer4[2].conv2.weight.is_contiguous(memory_format=nhwc) == layout
    (loss0, grads0), (loss1, grads1) = results[False], results[True]
    torch.testing.assert_close(loss1, loss0, rtol=1e-12, atol=1e-12)
    assert grads0.keys() == grads1.keys() and 'backbone.layer4.1.conv2.weight' in grads0
    for k in grads0:  # the layouts sum in different orders: float64 relative error
        assert (grads1[k] - grads0[k]).norm() <= 1e-9 * grads0[k].norm() + 1e-15, k  # key bias: 0 in theory


def test_extract_feat_and_predict(model_cfg):
    model = MODELS.build(model_cfg).eval()
    views = [torch.randn(2, 3, 64, 64)]
    feats = model.extract_feat(views)
    assert feats[-1].shape == (2, 512, 2, 2)
    samples = model.predict(views)
    assert samples[0].student_map.shape == (256, 2, 2) and samples[0].teacher_map.shape == (256, 2, 2)
    torch.testing.assert_close(samples[1].student_map.norm(dim=0), torch.ones(2, 2))


def test_missing_teacher_file_is_a_clear_error(model_cfg, tmp_path):
    with pytest.raises(FileNotFoundError, match='r-50-1000ep.pth.tar.*does not exist.*teacher_ckpt'):
        MODELS.build({**model_cfg, 'teacher_ckpt': str(tmp_path / 'r-50-1000ep.pth.tar')})
    with pytest.raises(ValueError, match='never trains from a random teacher'):
        MODELS.build({**model_cfg, 'teacher_ckpt': None})


def test_wrong_keys_are_named(model_cfg, mocov3_ckpt, tmp_path):
    checkpoint = torch.load(mocov3_ckpt, weights_only=True)
    state = checkpoint['state_dict']
    state['module.momentum_encoder.layer9.weight'] = state.pop('module.momentum_encoder.layer1.0.conv1.weight')
    del state['module.momentum_encoder.fc.1.running_mean']
    path = str(tmp_path / 'bad.pth.tar')
    torch.save(checkpoint, path)
    with pytest.raises(CheckpointMismatchError) as err:
        MODELS.build({**model_cfg, 'teacher_ckpt': path})
    assert 'layer1.0.conv1.weight' in str(err.value) and 'layer9.weight' in str(err.value)
    del state['module.momentum_encoder.layer9.weight']
    state['module.momentum_encoder.layer1.0.conv1.weight'] = torch.zeros(64, 64, 1, 1)
    torch.save(checkpoint, path)
    with pytest.raises(CheckpointMismatchError, match=r'fc.1.running_mean|1.running_mean'):
        MODELS.build({**model_cfg, 'teacher_ckpt': path})


def test_other_layouts_and_architectures_are_rejected(model_cfg, mocov3_ckpt, tmp_path):
    path = str(tmp_path / 'plain.pth')
    torch.save({'state_dict': {'conv1.weight': torch.zeros(1)}}, path)
    with pytest.raises(CheckpointMismatchError, match='module.momentum_encoder'):
        MODELS.build({**model_cfg, 'teacher_ckpt': path})
    resnet18_teacher = copy.deepcopy(model_cfg)
    resnet18_teacher['teacher']['backbone']['depth'] = 18
    with pytest.raises(CheckpointMismatchError, match='wrong shape|unexpected'):
        MODELS.build(resnet18_teacher)
    no_teacher = {k: v for k, v in model_cfg.items() if k != 'teacher'}
    with pytest.raises(TypeError, match="missing 1 required positional argument: 'teacher'"):
        MODELS.build(no_teacher)
    no_neck = copy.deepcopy(model_cfg)
    del no_neck['teacher']['neck']
    with pytest.raises(KeyError, match='neck'):
        MODELS.build(no_neck)


def test_pickled_code_in_teacher_file_is_refused(model_cfg, tmp_path):
    path = str(tmp_path / 'evil.pth.tar')
    torch.save({'state_dict': {}, 'payload': Config(dict(a=1))}, path)
    with pytest.raises(Exception, match='weights_only|Unsupported global'):
        MODELS.build({**model_cfg, 'teacher_ckpt': path})


def test_bn_and_biases_excluded_from_decay_and_lars(model_cfg):
    cfg = demo_cfg()
    model = MODELS.build(model_cfg)
    optimizer = build_optim_wrapper(model, cfg.optim_wrapper).optimizer
    names = {id(p): n for n, p in model.named_parameters()}
    excluded = {
        names[id(p)]
        for g in optimizer.param_groups if g['weight_decay'] == 0 and g.get('lars_exclude') for p in g['params']
    }
    student = [n for n, p in model.named_parameters() if p.requires_grad]
    expected = {n for n, p in model.named_parameters() if p.requires_grad and p.ndim == 1}  # biases and BN
    assert expected and expected == excluded
    in_optimizer = {names[id(p)] for g in optimizer.param_groups for p in g['params']}
    assert in_optimizer == set(student)  # the frozen teacher is left out
    assert 'neck.mlps.0.bn.weight' in expected and 'attention.query.bias' in expected


def test_model_wide_init_cfg_does_not_reach_the_teacher(model_cfg, mocov3_ckpt):
    """A Kaiming init_cfg on PCD (mmengine applies it to every Conv2d of the model) leaves the teacher bit-identical."""
    model = MODELS.build({**model_cfg, 'init_cfg': dict(type='Kaiming', layer='Conv2d')})
    before = copy.deepcopy(model.teacher.state_dict())
    student_before = copy.deepcopy(model.neck.state_dict())
    model.init_weights()
    for k, v in model.teacher.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert not torch.equal(model.neck.state_dict()['mlps.0.fc1.weight'], student_before['mlps.0.fc1.weight'])
    assert model.teacher.is_init and not model.teacher.training and not any(p.requires_grad
                                                                            for p in model.teacher.parameters())


def test_a_checkpoint_never_replaces_the_configured_teacher(model_cfg, mocov3_ckpt, tmp_path):
    """load_from / --resume (mmengine's loader) and load_state_dict: the configured teacher always stays."""
    from mmengine.runner.checkpoint import _load_checkpoint_to_model

    other_teacher = str(tmp_path / 'other.pth.tar')
    torch.save(random_teacher('mocov3', 1), other_teacher)
    trained = MODELS.build(model_cfg)
    torch.save(dict(state_dict=trained.state_dict()), tmp_path / 'epoch_1.pth')
    checkpoint = torch.load(tmp_path / 'epoch_1.pth', weights_only=True)

    model = MODELS.build({**model_cfg, 'teacher_ckpt': other_teacher})
    teacher, student = copy.deepcopy(model.teacher.state_dict()), copy.deepcopy(model.backbone.state_dict())
    with pytest.raises(
            CheckpointMismatchError, match=f'another teacher \\({mocov3_ckpt} \\(mocov3 layout\\)\\) than '
            f'the configured one \\({other_teacher} \\(mocov3 layout\\)\\).*export the student'):
        _load_checkpoint_to_model(model, checkpoint)
    for k, v in {**model.teacher.state_dict(), **model.backbone.state_dict()}.items():  # nothing was loaded
        assert torch.equal(v, {**teacher, **student}[k]), k
    # the student alone (no teacher.* keys) loads and the configured teacher stays
    student_only = {k: v for k, v in checkpoint['state_dict'].items() if not k.startswith('teacher.')}
    model.load_state_dict(student_only)
    assert torch.equal(model.backbone.conv1.weight, trained.backbone.conv1.weight)
    assert all(torch.equal(v, teacher[k]) for k, v in model.teacher.state_dict().items())
    # the same teacher: everything loads
    same = MODELS.build(model_cfg)
    _load_checkpoint_to_model(same, checkpoint)
    assert torch.equal(same.head.queue, trained.head.queue)


def test_a_checkpoint_of_another_config_is_refused_whole(model_cfg, tmp_path):
    trained = MODELS.build(model_cfg)
    other = MODELS.build({**model_cfg, 'head': {**model_cfg['head'], 'queue_len': 128}})
    before = copy.deepcopy(other.state_dict())
    with pytest.raises(
            CheckpointMismatchError, match=r'does not match this model.*nothing was loaded[\s\S]*'
            r'head.queue: checkpoint \(256, 64\), model \(256, 128\)'):
        other.load_state_dict(trained.state_dict())
    assert all(torch.equal(v, before[k]) for k, v in other.state_dict().items())
    with pytest.raises(CheckpointMismatchError, match=r'unexpected keys \(1\): attention.extra'):
        other.load_state_dict({**before, 'attention.extra': torch.ones(1)})


def test_widths_are_checked_when_built(model_cfg):
    with pytest.raises(
            ValueError, match=r'student backbone gives 512-channel maps but φ takes 2048.*'
            r'model.neck.in_channels=512'):
        MODELS.build({**model_cfg, 'neck': {**model_cfg['neck'], 'in_channels': 2048}})
    with pytest.raises(ValueError, match=r'model.head.feat_dim=128 contradicts the teacher head.s output width'):
        MODELS.build({**model_cfg, 'head': {**model_cfg['head'], 'feat_dim': 128}})


@pytest.mark.parametrize(
    'kwargs, views_enqueued',
    [
        (dict(), [0, 1]),
        (dict(enqueue_first_view=True), [0]),  # allo-rene/pcd pcd/pcd.py: key_for_update from teacher_output1
        (dict(enqueue_first_view=True, cross_view=True), [0]),  # the official code's pairing and queue together
    ])
def test_what_is_enqueued(model_cfg, kwargs, views_enqueued):
    """The pooled, ℓ2-normalized teacher maps of both views (the default) or of view 1 only (the official code)."""
    torch.manual_seed(0)
    views = [torch.randn(2, 3, 64, 64), torch.randn(2, 3, 64, 64)]
    model = MODELS.build({**model_cfg, **kwargs})
    model.train()
    with torch.no_grad():
        keys = [F.normalize(model.teacher(views[v]).mean(dim=(2, 3)), dim=1) for v in views_enqueued]
    model.loss(views, None)
    assert int(model.head.queue_ptr) == 2 * len(views_enqueued)
    torch.testing.assert_close(model.head.queue[:, :2 * len(views_enqueued)], torch.cat(keys).t())


def test_barlow_twins_teacher_config_is_the_asymmetric_variant():
    """Appendix A.3/B.3: the asymmetric variant, i.e. Table 1's "PCD, asymmetric" (one view of the symmetric policy,
    the loss on it), with the Barlow Twins teacher."""
    barlow = Config.fromfile(osp.join(REPO, 'configs', 'pcd', 'pcd_resnet18-barlowtwins-r50_8xb128-coslr-100e_in1k.py'))
    asymmetric = Config.fromfile(
        osp.join(REPO, 'configs', 'pcd', 'ablations', 'pcd_resnet18-asymmetric_8xb128-coslr-100e_in1k.py'))
    assert barlow.model.symmetric is False and barlow.model.teacher_ckpt_format == 'barlowtwins'
    assert barlow.train_dataloader.dataset.pipeline == asymmetric.train_dataloader.dataset.pipeline
    multiview = barlow.train_dataloader.dataset.pipeline[1]
    view, = multiview.transforms
    assert multiview.num_views == [1] and (view[4]['prob'], view[5]['prob']) == (0.55, 0.1)  # blur, solarize
    assert list(barlow.model.teacher.neck.channels) == [2048, 8192, 8192, 8192]
