"""Every teacher of Table 5 from a checkpoint in its released layout; the real EfficientNet-Lite0 teacher."""
import copy
import functools
import glob
import os.path as osp
import re

import numpy as np
import pytest
import skimage.data
import torch
import torch.nn.functional as F
from mmengine.config import Config
from PIL import Image
from torch import nn

from mmpcd.fileio import CheckpointLoadError
from mmpcd.models import CheckpointMismatchError, CWReLU
from mmpcd.models.algorithms.widths import follow_teacher
from mmpcd.models.teachers import TEACHER_FORMATS, TeacherFormat, load_teacher_checkpoint
from mmpcd.testing import RANDOM_TEACHER_KEY, RANDOM_TEACHERS, random_teacher
from mmselfsup.registry import MODELS

from conftest import REPO

# format: (config, where the state dict is, a backbone key, a head key) in the released layout
TEACHERS = {
    'mocov3': ('pcd_resnet18_8xb128-coslr-100e_in1k.py', 'state_dict', 'module.momentum_encoder.layer2.0.conv1.weight',
               'module.momentum_encoder.fc.0.weight'),
    'mocov3_vit': ('pcd_resnet18-mocov3-vitb16_8xb128-coslr-100e_in1k.py', 'state_dict',
                   'module.momentum_encoder.blocks.3.attn.qkv.weight', 'module.momentum_encoder.head.3.weight'),
    'swav': ('pcd_resnet18-swav-r50_8xb128-coslr-100e_in1k.py', None, 'module.layer2.0.conv1.weight',
             'module.projection_head.0.bias'),
    'byol': ('pcd_resnet18-byol-r50_8xb128-coslr-100e_in1k.py', 'state_dict',
             'target_net.module.0.layer2.0.conv1.weight', 'target_net.module.1.fc1.weight'),
    'byol_airl': ('pcd_resnet18-byol-airl-r50_8xb128-coslr-100e_in1k.py', 'model',
                  'module.target_encoder.layer2.0.conv1.weight', 'module.target_encoder.fc.3.bias'),
    'barlowtwins': ('pcd_resnet18-barlowtwins-r50_8xb128-coslr-100e_in1k.py', 'model',
                    'module.backbone.layer2.0.conv1.weight', 'module.projector.3.weight'),
}


def model_cfg(config: str, ckpt) -> dict:
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'pcd', config)).model.to_dict()
    cfg.update(teacher_ckpt=ckpt)
    cfg['head']['queue_len'] = 32
    return cfg


def state_of(checkpoint: dict, where) -> dict:
    return checkpoint[where] if where else checkpoint


def reference_mlp(adaptor) -> nn.Sequential:
    """The released head as Linear / BN1d / ReLU, rebuilt from the adaptor's shapes."""
    layers = []
    for m in adaptor.layers:
        if isinstance(m, nn.Conv2d):
            layers.append(nn.Linear(m.in_channels, m.out_channels, bias=m.bias is not None))
        elif isinstance(m, nn.BatchNorm2d):
            layers.append(nn.BatchNorm1d(m.num_features, affine=m.affine))
        else:
            assert isinstance(m, CWReLU)
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


@pytest.fixture(scope='module', params=sorted(TEACHERS))
def released(request, tmp_path_factory):
    fmt = request.param
    path = str(tmp_path_factory.mktemp(fmt) / f'{fmt}.pth')
    checkpoint = random_teacher(fmt, 0)
    torch.save(checkpoint, path)
    yield fmt, path, checkpoint
    del checkpoint


def test_teacher_loads_and_adaptor_keeps_the_head(released):
    fmt, path, checkpoint = released
    config, where, backbone_key, head_key = TEACHERS[fmt]
    model = MODELS.build(model_cfg(config, path))
    state = state_of(checkpoint, where)
    teacher = model.teacher.state_dict()
    matches = [
        k for k, v in teacher.items()
        if k.startswith('backbone.') and v.shape == state[backbone_key].shape and torch.equal(v, state[backbone_key])
    ]
    assert matches, f'{backbone_key} not loaded into the teacher backbone'
    adaptor = model.teacher.neck
    _, head_state = load_teacher_checkpoint(path, fmt)
    mlp = reference_mlp(adaptor)
    mlp.load_state_dict({k: v for k, v in head_state.items() if int(k.split('.')[0]) < len(mlp)})
    assert any(torch.equal(p, state[head_key]) for p in mlp.state_dict().values())
    mlp.eval()
    t = torch.randn(2, adaptor.channels[0], 5, 5) + 0.3
    with torch.no_grad():
        torch.testing.assert_close(adaptor(t).mean(dim=(2, 3)), mlp(t.mean(dim=(2, 3))), rtol=1e-4, atol=1e-4)
        out = model.teacher(torch.randn(1, 3, 224, 224))
    side = 14 if fmt == 'mocov3_vit' else 7
    assert out.shape == (1, adaptor.channels[-1], side, side)


@functools.lru_cache()
def config_formats() -> set:
    """The teacher checkpoint formats that the configs (configs/**, bases included) name."""
    pattern = re.compile(r"(?:teacher_ckpt|checkpoint)_format\s*=\s*'(\w+)'")
    return {
        name
        for path in glob.glob(osp.join(REPO, 'configs', '**', '*.py'), recursive=True)
        for name in pattern.findall(open(path, encoding='utf-8').read())
    }


def tensors(tree) -> list:
    if isinstance(tree, torch.Tensor):
        return [tree]
    return [t for v in tree.values() for t in tensors(v)] if isinstance(tree, dict) else []


@pytest.mark.parametrize('fmt', sorted(TEACHER_FORMATS))
def test_each_format_is_one_record_whose_reader_reads_its_maker(fmt):
    """TEACHER_FORMATS: a config uses each format; its reader splits the random checkpoint of its maker (built from
    the real architecture, marked random) into non-empty backbone and head parts made of the checkpoint's own
    tensors; a format with a packaged file loads it without a path and has its keys and shapes, others need a path.
    Every format has its maker in mmpcd.testing.RANDOM_TEACHERS and no other name has one."""
    entry = TEACHER_FORMATS[fmt]
    assert isinstance(entry, TeacherFormat) and entry.name == fmt
    assert callable(entry.read) and callable(RANDOM_TEACHERS[fmt])
    assert set(RANDOM_TEACHERS) == set(TEACHER_FORMATS)
    assert fmt in config_formats(), f'no config under configs/ uses the {fmt} format'
    checkpoint = random_teacher(fmt, 0)
    assert checkpoint[RANDOM_TEACHER_KEY] is True
    backbone, head = entry.read(checkpoint)
    assert backbone and head
    made = {id(t) for t in tensors(checkpoint)}
    assert all(id(t) in made for t in [*backbone.values(), *head.values()])
    if entry.packaged is None:
        with pytest.raises(ValueError, match='no teacher checkpoint given'):
            load_teacher_checkpoint(None, fmt)
    else:
        real_backbone, real_head = load_teacher_checkpoint(None, fmt)
        for real, random in ((real_backbone, backbone), (real_head, head)):
            assert {k: v.shape for k, v in real.items()} == {k: v.shape for k, v in random.items()}


def test_bad_keys_are_named(released, tmp_path):
    fmt, _, checkpoint = released
    config, where, backbone_key, head_key = TEACHERS[fmt]
    bad = copy.copy(checkpoint)
    if where:
        bad[where] = dict(checkpoint[where])
    state = state_of(bad, where)
    removed = state.pop(backbone_key)
    prefix = backbone_key[:backbone_key.index('layer2') if 'layer2' in backbone_key else backbone_key.index('blocks')]
    state[prefix + 'extra_layer.weight'] = torch.zeros(1)
    state[head_key] = torch.zeros(3, 3)
    path = str(tmp_path / 'bad.pth')
    torch.save(bad, path)
    with pytest.raises(CheckpointMismatchError) as err:
        MODELS.build(model_cfg(config, path))
    message = str(err.value)
    short = 'blocks.3.attn.qkv.weight' if fmt == 'mocov3_vit' else 'layer2.0.conv1.weight'
    assert 'extra_layer.weight' in message and short in message
    state[backbone_key] = removed
    state.pop(prefix + 'extra_layer.weight')
    torch.save(bad, path)
    with pytest.raises(CheckpointMismatchError, match='wrong shape'):
        MODELS.build(model_cfg(config, path))


@pytest.mark.parametrize('content, reason', [('random bytes', 'Unsupported operand'),
                                             ('truncated', 'PytorchStreamReader failed reading zip archive'),
                                             ('empty', r'empty file \(0 bytes\)'),
                                             ('pickled code', 'Unsupported global: GLOBAL mmengine.config')])
def test_unreadable_teacher_file_is_named_and_never_unsafe_advice(tmp_path, content, reason):
    """A file torch cannot load with weights_only=True: the error names it and says to get it again; torch's
    advice to set weights_only=False (or to allowlist the globals) is left out, and its error is not chained
    (the traceback would print that advice)."""
    path = tmp_path / 'r-50-1000ep.pth.tar'
    if content == 'pickled code':
        torch.save({'state_dict': {}, 'payload': Config(dict(a=1))}, path)
    elif content == 'truncated':
        torch.save({'state_dict': {'w': torch.ones(1000)}}, path)
        path.write_bytes(path.read_bytes()[:600])
    else:
        path.write_bytes(np.random.default_rng(0).bytes(4096) if content == 'random bytes' else b'')
    with pytest.raises(CheckpointLoadError, match=f'teacher checkpoint {re.escape(str(path))} .*: {reason}') as err:
        load_teacher_checkpoint(str(path), 'mocov3')
    message = str(err.value)
    assert 'download or copy it again' in message and 'Do not load it with weights_only=False' in message
    assert 'will likely succeed' not in message and 'add_safe_globals' not in message
    assert err.value.__cause__ is None and err.value.__suppress_context__


def test_vit_map_is_2x2_average_pooled_to_the_student_size():
    """Bilinear resizing of 14x14 to 7x7 (what the head does) is exactly 2x2 average pooling."""
    x = torch.randn(2, 8, 14, 14)
    resized = F.interpolate(x, size=(7, 7), mode='bilinear', align_corners=False)
    torch.testing.assert_close(resized, F.avg_pool2d(x, 2))


def imagenet_input(name: str) -> torch.Tensor:
    """A scikit-image picture at 224 px, normalized like the student's data preprocessor."""
    img = Image.fromarray(getattr(skimage.data, name)()).resize((224, 224), Image.BICUBIC)
    x = torch.from_numpy(np.array(img)).permute(2, 0, 1).float()[None]
    mean, std = torch.tensor([123.675, 116.28, 103.53]), torch.tensor([58.395, 57.12, 57.375])
    return (x - mean.view(1, 3, 1, 1)) / std.view(1, 3, 1, 1)


def test_efficientnet_lite0_teacher_classifies_real_images():
    """The packaged ImageNet weights, mapped and adapted: the pooled teacher map is the classifier's logits."""
    cfg = model_cfg('pcd_resnet18-effnetlite0_8xb128-coslr-100e_in1k.py', None)
    model = MODELS.build(cfg).eval()
    for name, label in (('chelsea', 285), ('coffee', 967)):  # Egyptian cat, espresso
        with torch.no_grad():
            logits = model.teacher(imagenet_input(name)).mean(dim=(2, 3))
        assert logits.argmax().item() == label, name
        assert logits.softmax(dim=1).max() > 0.5


@pytest.mark.parametrize('config, channels', [('pcd_resnet34_8xb128-coslr-100e_in1k.py', 512),
                                              ('pcd_resnet50_8xb128-coslr-100e_in1k.py', 2048),
                                              ('pcd_mobilenetv3-large_8xb128-coslr-100e_in1k.py', 960)])
def test_students(config, channels, mocov3_ckpt):
    model = MODELS.build(model_cfg(config, mocov3_ckpt))
    views = [torch.randn(2, 3, 64, 64), torch.randn(2, 3, 64, 64)]
    assert model.extract_feat(views)[-1].shape[1] == channels
    loss = model.loss(views, [])['loss']
    loss.backward()
    assert torch.isfinite(loss)
    for part in (model.backbone, model.neck, model.attention):  # the loss reaches every student weight
        assert all(p.grad is not None for p in part.parameters() if p.requires_grad), part.__class__.__name__


def test_mobilenet_v3_stages_follow_the_appendix():
    backbone = MODELS.build(dict(type='MobileNetV3Stages'))
    outs = backbone(torch.randn(1, 3, 224, 224))
    assert [tuple(o.shape[1:]) for o in outs] == [(24, 56, 56), (40, 28, 28), (112, 14, 14), (960, 7, 7)]
    with pytest.raises(ValueError, match='res6'):
        MODELS.build(dict(type='MobileNetV3Stages', out_stages=('res6', )))


def test_mobilenet_v3_stages_c4_and_dilated():
    """A C4 backbone ends at res4 (res5 is not built); a dilated res5 keeps stride 16 with res5's weights."""
    full = MODELS.build(dict(type='MobileNetV3Stages'))
    c4 = MODELS.build(dict(type='MobileNetV3Stages', out_stages=('res4', )))
    assert c4.layers == [f'layer{i}' for i in range(13)] and not hasattr(c4, 'layer13')
    x = torch.randn(1, 3, 224, 224)
    c4.load_state_dict({k: v for k, v in full.state_dict().items() if int(k.split('.')[0][5:]) < 13})
    full.eval(), c4.eval()
    with torch.no_grad():
        torch.testing.assert_close(c4(x)[0], full(x)[2])
    dilated = MODELS.build(dict(type='MobileNetV3Stages', out_stages=('res5', ), res5_dilation=2))
    dilated.load_state_dict(full.state_dict())  # same parameters, only strides and dilations differ
    dilated.eval()
    with torch.no_grad():
        assert dilated(x)[0].shape == (1, 960, 14, 14)
    conv = dilated.layer14.depthwise_conv.conv
    assert conv.dilation == (2, 2) and conv.padding == (2 * (conv.kernel_size[0] // 2), ) * 2
    assert dilated.layer13.depthwise_conv.conv.stride == (1, 1)
    with pytest.raises(ValueError, match='needs res5'):
        MODELS.build(dict(type='MobileNetV3Stages', out_stages=('res4', ), res5_dilation=2))


def test_byol_files_without_the_last_bias(tmp_path):
    """mmselfsup's BYOL neck has no bias on its last Linear (the fixture is mmselfsup's own BYOL); the paper's file,
    written by revisitAIRL's get_mlp, has one: a file without it is named, not silently loaded."""
    state = random_teacher('byol', 0)['state_dict']
    assert 'target_net.module.1.fc0.bias' in state and 'target_net.module.1.fc1.weight' in state
    assert 'target_net.module.1.fc1.bias' not in state
    checkpoint = random_teacher('byol_airl', 0)
    del checkpoint['model']['module.target_encoder.fc.3.bias']
    path = str(tmp_path / 'byol.pth')
    torch.save(checkpoint, path)
    config = TEACHERS['byol_airl'][0]
    with pytest.raises(CheckpointMismatchError, match=r'missing keys \(1\): 3.bias'):
        MODELS.build(model_cfg(config, path))
    cfg = model_cfg(config, path)
    cfg['teacher']['neck']['last_bias'] = False
    assert MODELS.build(cfg).teacher.neck.layers[3].bias is None


@pytest.mark.parametrize(
    'config, hidden, bias, width',
    [
        ('pcd_resnet18_8xb128-coslr-100e_in1k.py', 4096, False, 256),
        ('pcd_resnet18-swav-r50_8xb128-coslr-100e_in1k.py', 2048, True, 128),
        ('pcd_resnet18-byol-r50_8xb128-coslr-100e_in1k.py', 4096, True, 256),
        ('pcd_resnet18-barlowtwins-r50_8xb128-coslr-100e_in1k.py', [8192, 8192], False, 8192),
        ('pcd_resnet18-mocov3-vitb16_8xb128-coslr-100e_in1k.py', [4096, 4096], False, 256),
        ('pcd_resnet18-effnetlite0_8xb128-coslr-100e_in1k.py', 4096, False, 1000),  # one Linear: MoCo v3's φ
    ])
def test_student_widths_and_phi_follow_the_teacher_head(config, hidden, bias, width):
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'pcd', config)).model
    neck, head, attention = follow_teacher(cfg.teacher, cfg.neck, cfg.head, cfg.attention)
    assert (neck['hid_channels'], neck['bias'], neck['out_channels']) == (hidden, bias, width)
    assert head['feat_dim'] == attention['in_channels'] == width
    phi = MODELS.build(neck)
    convs = [m for m in phi.modules() if isinstance(m, nn.Conv2d)]
    hidden = [hidden] if isinstance(hidden, int) else hidden
    assert [c.out_channels for c in convs] == [*hidden, width] * 2  # two MLPs shaped like the head
    assert all((c.bias is not None) == bias for c in convs)


def test_width_contradictions_are_build_errors(model_cfg):
    for part, key in (('neck', 'out_channels'), ('attention', 'in_channels'), ('head', 'feat_dim')):
        cfg = copy.deepcopy(model_cfg)
        cfg[part][key] = 128
        with pytest.raises(
                ValueError, match=rf"model.{part}.{key}=128 contradicts the teacher head's output width "
                r'\(teacher.neck.channels=\(2048, 4096, 256\)\) \(256\)'):
            MODELS.build(cfg)
    no_adaptor = copy.deepcopy(model_cfg)
    no_adaptor['teacher']['neck'] = None
    with pytest.raises(ValueError, match='set model.neck.out_channels to its width'):
        MODELS.build(no_adaptor)
    no_adaptor['neck']['out_channels'] = 1024
    with pytest.raises(ValueError, match='the teacher gives 2048-channel pixels but the student is built for 1024'):
        MODELS.build(no_adaptor)
    no_adaptor['neck']['out_channels'] = 2048
    model = MODELS.build(no_adaptor)
    assert model.teacher.neck is None and model.head.queue.shape == (2048, 64)
