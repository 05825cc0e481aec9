"""Every ablation of Tables 1-4 as a config: it builds from a released-layout teacher, trains, and has its property."""
import copy
import glob
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.runner import Runner
from torch import nn

from mmpcd.models import PixelMHSA
from mmselfsup.registry import MODELS

from conftest import REPO

ABLATIONS = osp.join(REPO, 'configs', 'pcd', 'ablations')
KEYS = ('asymmetric', 'image-level', 'variant-a', 'variant-b', 'variant-c', 'variant-d', 'wo-mhsa', 'extra-pred',
        'cross-view', 'mhsa-residual', 'mhsa-residual-zero-proj')


def config_of(key: str) -> Config:
    path, = glob.glob(osp.join(ABLATIONS, f'pcd_resnet18-{key}_*.py'))
    return Config.fromfile(path)


def build(key: str, mocov3_ckpt: str):
    model_cfg = config_of(key).model.to_dict()
    model_cfg.update(teacher_ckpt=mocov3_ckpt)
    model_cfg['head']['queue_len'] = 64
    model = MODELS.build(model_cfg)
    model.init_weights()
    return model


def test_every_row_has_a_config():
    assert sorted(osp.basename(p) for p in glob.glob(osp.join(ABLATIONS, '*.py'))) == sorted(
        f'pcd_resnet18-{key}_8xb128-coslr-100e_in1k.py' for key in KEYS)


@pytest.mark.parametrize('key', KEYS)
def test_ablation_trains_the_student_not_the_teacher(key, mocov3_ckpt):
    cfg = config_of(key)
    model = build(key, mocov3_ckpt)
    loader_cfg = copy.deepcopy(cfg.train_dataloader)
    loader_cfg.update(batch_size=4, num_workers=0, persistent_workers=False)
    loader_cfg.dataset = dict(type='ImageFolder', data_root=osp.join(REPO, 'data', 'coco_mini'),
                              data_prefix=dict(img_path='train/'), pipeline=loader_cfg.dataset.pipeline)
    for view in loader_cfg.dataset.pipeline[1]['transforms']:
        view[0]['size'] = 64
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    teacher_before = copy.deepcopy(model.teacher.state_dict())
    student_before = copy.deepcopy(model.backbone.state_dict())
    model.train()
    for _, batch in zip(range(2), Runner.build_dataloader(loader_cfg)):
        assert len(batch['inputs']) == (1 if key == 'asymmetric' else 2)
        assert torch.isfinite(model.train_step(batch, optim_wrapper)['loss'])
    for k, v in model.teacher.state_dict().items():
        assert torch.equal(v, teacher_before[k]), k
    key = 'layer4.1.conv2.weight'
    assert not torch.equal(model.backbone.state_dict()[key], student_before[key])


def test_asymmetric_samples_one_view_from_a_symmetric_policy():
    cfg = config_of('asymmetric')
    multiview = cfg.train_dataloader.dataset.pipeline[1]
    view, = multiview['transforms']
    assert multiview['num_views'] == [1] and not cfg.model.symmetric
    assert (view[4]['type'], view[4]['prob'], view[5]['type'],
            view[5]['prob']) == ('RandomGaussianBlur', 0.55, 'RandomSolarize', 0.1
                                 )  # the mean of BYOL's (1.0, 0.1) and (0.0, 0.2)


def test_image_level_loss_is_eq4_on_pooled_vectors(mocov3_ckpt):
    model = build('image-level', mocov3_ckpt)
    gen = torch.Generator().manual_seed(0)
    student, teacher = torch.randn(3, 256, 4, 4, generator=gen), torch.randn(3, 256, 7, 7, generator=gen)
    s, t = F.normalize(student.mean(dim=(2, 3)), dim=1), F.normalize(teacher.mean(dim=(2, 3)), dim=1)
    tau, queue = model.head.temperature, model.head.queue
    expected = []
    for s_i, t_i in zip(s, t):  # eq. 4: -log(exp(s.t / τ) / (exp(s.t / τ) + Σ_k exp(s.n_k / τ)))
        positive = torch.exp(s_i @ t_i / tau)
        expected.append(-torch.log(positive / (positive + torch.exp(s_i @ queue / tau).sum())))
    torch.testing.assert_close(model.head.loss(student, teacher), torch.stack(expected).mean())


def test_variant_a_contrasts_the_raw_backbone_map(mocov3_ckpt):
    model = build('variant-a', mocov3_ckpt).eval()
    x = torch.randn(2, 3, 64, 64)
    assert model.teacher.neck is None
    torch.testing.assert_close(model.teacher(x), model.teacher.backbone(x)[-1])
    widths = model.neck.mlps[-1].fc2.out_channels, model.head.queue.shape[0], model.attention.proj.out_channels
    assert widths == (2048, 2048, 2048)


def test_variants_b_c_d_put_the_relu_where_the_paper_does(mocov3_ckpt):
    x = torch.randn(2, 3, 64, 64)
    b = build('variant-b', mocov3_ckpt).eval()
    assert isinstance(b.attention.act, nn.ReLU) and isinstance(b.neck.act, nn.Identity)
    assert (b.student_forward(x) >= 0).all() and (b.neck(b.backbone(x)[-1]) < 0).any()
    c = build('variant-c', mocov3_ckpt).eval()
    assert isinstance(c.attention, nn.Identity) and isinstance(c.neck.act, nn.ReLU)
    assert (c.student_forward(x) >= 0).all()
    d = build('variant-d', mocov3_ckpt)
    assert [type(m).__name__ for m in d.teacher.neck.layers] == ['Conv2d', 'BatchNorm2d', 'ReLU', 'Conv2d']


def test_extra_pred_has_no_attention_and_the_mhsa_parameter_count(mocov3_ckpt):
    model = build('extra-pred', mocov3_ckpt)
    assert not any(isinstance(m, PixelMHSA) for m in model.modules())
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    mhsa = count(PixelMHSA(256, 8, 64))
    assert (count(model.attention), mhsa) == (526336, 526080)  # the numbers the config and docs state
    assert abs(count(model.attention) / mhsa - 1) < 0.001


def test_cross_view_pairs_each_student_view_with_the_other_teacher_view(mocov3_ckpt):
    model = build('cross-view', mocov3_ckpt).eval()
    views = [torch.randn(2, 3, 64, 64), torch.randn(2, 3, 64, 64)]
    with torch.no_grad():
        t1, t2 = model.teacher(views[0]), model.teacher(views[1])
        expected = (model.head.loss(model.student_forward(views[0]), t2) +
                    model.head.loss(model.student_forward(views[1]), t1)) / 2
        torch.testing.assert_close(model.loss(views, [])['loss'], expected)
