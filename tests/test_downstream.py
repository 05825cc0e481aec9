"""Short versions of every evaluation of Table 1 on the shipped real data, through tools/benchmarks/run_downstream.py:
export the student, fine-tune a few iterations, evaluate with the real metric, read the numbers back."""
import glob
import json
import math
import os.path as osp
import subprocess
import sys
from typing import List, Tuple

import pytest
import torch
from mmengine.config import Config
from mmengine.evaluator import BaseMetric, Evaluator
from mmengine.model import BaseModel
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

from mmselfsup.registry import MODELS

from conftest import REPO

# task: (short config in tests/configs, seeds, metric -> upper bound of its range)
SHORT_RUNS = {
    'voc07': ('voc07_short.py', 1, {'pascal_voc/AP50': 100., 'pascal_voc/mAP': 100.}),
    'coco-c4': ('coco_c4_short.py', 1, {'coco/bbox_mAP': 1., 'coco/segm_mAP': 1.}),
    'coco-fpn': ('coco_fpn_short.py', 1, {'coco/bbox_mAP': 1., 'coco/segm_mAP': 1.}),
    'cityscapes': ('cityscapes_short.py', 2, {'mIoU': 100.}),
    'linear': ('linear_cifar_short.py', 1, {'accuracy/top1': 100.}),
}


def _pcd_checkpoint(tmp_path_factory, backbone: dict) -> str:
    """A checkpoint laid out like tools/train.py's, holding a random student ``backbone``."""
    torch.manual_seed(0)
    state = MODELS.build(backbone).state_dict()
    path = str(tmp_path_factory.mktemp('pcd') / 'epoch_1.pth')
    torch.save(dict(meta=dict(epoch=1), state_dict={f'backbone.{k}': v for k, v in state.items()}), path)
    return path


@pytest.fixture(scope='module')
def pcd_checkpoint(tmp_path_factory) -> str:
    return _pcd_checkpoint(tmp_path_factory, dict(type='ResNet', depth=18, out_indices=[4]))


@pytest.fixture(scope='module')
def pcd_mbv3_checkpoint(tmp_path_factory) -> str:
    """The MobileNet v3 Large student of Table 6 (configs/pcd_mobilenetv3-large_8xb128-coslr-100e_in1k.py)."""
    return _pcd_checkpoint(tmp_path_factory, dict(type='MobileNetV3Stages', out_stages=('res5', )))


def _short_run(task: str, config: str, seeds: int, ranges: dict, checkpoint: str, tmp_path) -> None:
    """run_downstream.py TASK on a short config; check the metrics and that the exported student was loaded."""
    cmd = [
        sys.executable, 'tools/benchmarks/run_downstream.py', task, checkpoint, '--gpus', '1', '--seeds',
        str(seeds), '--work-dir',
        str(tmp_path), '--config', f'tests/configs/{config}'
    ]
    out = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=1200)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-5000:]
    summary = json.loads((tmp_path / 'summary.json').read_text())
    assert set(summary) == set(ranges)
    for metric, upper in ranges.items():
        runs = summary[metric]['runs']
        assert len(runs) == seeds and all(math.isfinite(v) and 0 <= v <= upper for v in runs), (metric, runs)
    assert '| mean | std |' in out.stdout
    # the fine-tuned backbone (and the C4 shared head) started from the exported student (NormRescale for C4 / FCN)
    student = torch.load(tmp_path / 'student.pth', weights_only=True)
    assert student['meta']['norm_rescale'] == (0.25 if task in ('voc07', 'coco-c4', 'cityscapes') else None)
    log = next(tmp_path.glob('seed0/*/*.log')).read_text()
    loads = 2 if task in ('voc07', 'coco-c4') else 1
    # mmengine logs 'Loads checkpoint by <loader> backend from path: ...' (the loader: mmpcd.fileio's, weights_only)
    assert log.count(f' backend from path: {tmp_path}/student.pth') == loads, log[-3000:]
    if loads == 2 and 'mbv3' not in config:  # the student fills the ResNet C4 head but its new BN (MoCo's extra norm)
        assert 'missing keys in source state_dict: norm.weight, norm.bias, norm.running_mean, norm.running_var\n' in log
    if task in ('voc07', 'coco-c4', 'coco-fpn'):  # precise BN ran once, at the end, before the evaluation
        assert log.count('PreciseBNHook: running statistics of') == 1, log[-3000:]


@pytest.mark.slow
@pytest.mark.parametrize('task', sorted(SHORT_RUNS))
def test_short_evaluation(task, pcd_checkpoint, tmp_path):
    _short_run(task, *SHORT_RUNS[task], pcd_checkpoint, tmp_path)


@pytest.mark.slow
def test_short_evaluation_mobilenet_c4(pcd_mbv3_checkpoint, tmp_path):
    """Table 6's MobileNet v3 Large student in the VOC07 C4 setting: res4 backbone, res5 RoI head, both loaded."""
    _short_run('voc07', 'voc07_mbv3_short.py', 1, SHORT_RUNS['voc07'][2], pcd_mbv3_checkpoint, tmp_path)


def test_mobilenet_c4_loads_the_student_into_backbone_and_shared_head(pcd_mbv3_checkpoint, tmp_path):
    """Every tensor of the exported MobileNet student lands once: stem-res4 in the backbone, res5 in the RoI head."""
    from mmdet.registry import MODELS as DET_MODELS
    student = tmp_path / 'student.pth'
    subprocess.run([
        sys.executable, 'tools/model_converters/export_student.py', pcd_mbv3_checkpoint,
        str(student), '--norm-rescale', '0.25'
    ], cwd=REPO, check=True)
    cfg = Config.fromfile(f'{REPO}/configs/benchmarks/mmdetection/voc0712/faster-rcnn_mbv3-large-c4_ms-9k_voc07.py')
    cfg.model.backbone.init_cfg.checkpoint = str(student)
    cfg.model.roi_head.shared_head.init_cfg.checkpoint = str(student)
    with DefaultScope.overwrite_default_scope('mmdet'):
        import mmpcd.downstream  # noqa: F401
        model = DET_MODELS.build(cfg.model)
        model.init_weights()
    weights = torch.load(student, weights_only=True)['state_dict']
    backbone, head = model.backbone.state_dict(), model.roi_head.shared_head.state_dict()
    assert not set(backbone) & set(head) and set(backbone) | set(head) == set(weights)
    assert {k.split('.')[0] for k in head} == {'layer13', 'layer14', 'layer15', 'layer16'}
    for key, value in {**backbone, **head}.items():
        assert value.equal(weights[key]), key


TABLE6 = sorted(path for pattern in ('*r34*', '*r50*', 'resnet[35]*', '*mbv3*', 'mobilenetv3*')
                for path in glob.glob(f'{REPO}/configs/benchmarks/**/{pattern}.py', recursive=True)
                if '/_base_/' not in path)


@pytest.mark.parametrize('path', TABLE6, ids=lambda p: osp.basename(p))
def test_table6_students_build_and_predict(path):
    """The ResNet-34 / ResNet-50 / MobileNet v3 overrides give models whose shapes fit up to the prediction."""
    from mmcls.registry import MODELS as CLS_MODELS
    from mmdet.registry import MODELS as DET_MODELS
    from mmdet.structures import DetDataSample
    from mmseg.registry import MODELS as SEG_MODELS

    import mmpcd.downstream  # noqa: F401
    cfg = Config.fromfile(path)
    cfg.model.backbone.init_cfg = None  # no student file here; loading is tested by the short runs
    if 'shared_head' in cfg.model.get('roi_head', {}):
        cfg.model.roi_head.shared_head.init_cfg = None
    registry = dict(mmdet=DET_MODELS, mmseg=SEG_MODELS, mmcls=CLS_MODELS)[cfg.default_scope]
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        model = registry.build(cfg.model)
    model.eval()
    x = torch.randn(1, 3, 128, 160)
    meta = dict(img_shape=(128, 160), ori_shape=(128, 160), pad_shape=(128, 160), batch_input_shape=(128, 160),
                scale_factor=(1., 1.), padding_size=[0, 0, 0, 0])
    with torch.no_grad():
        if cfg.default_scope == 'mmdet':
            out = model.predict(x, [DetDataSample(metainfo=meta)])[0].pred_instances
            assert out.bboxes.shape[1] == 4
        elif cfg.default_scope == 'mmseg':
            assert model.encode_decode(x, [meta]).shape == (1, 19, 128, 160)
        else:
            assert model(x, mode='tensor').shape == (1, 1000)


DETECTION = sorted(path for folder in ('voc0712', 'coco')
                   for path in glob.glob(f'{REPO}/configs/benchmarks/mmdetection/{folder}/*.py'))


def _train_pipeline(cfg: Config) -> list:
    dataset = cfg.train_dataloader.dataset
    return (dataset.datasets[0] if dataset.type == 'ConcatDataset' else dataset).pipeline


@pytest.mark.parametrize('path', DETECTION, ids=lambda p: osp.basename(p))
def test_detection_configs_follow_moco_and_pixpro(path):
    """Every VOC / COCO config of Tables 1 and 6, as mmengine builds it, has MoCo's / PixPro's detectron2 settings
    (docs/downstream.md): precise BN (200 batches) and no weight decay on norm layers everywhere; the C4 head with a BN
    after res5 (MobileNet: res5 ending in its own BN); VOC's schedules (the 9k one of revisitAIRL's
    voc07_R_50_C4_9k.yaml) and 480-800 scales; COCO's 640-800 scales and 1000 warm-up iterations; the FPN heads
    with SyncBN, 4 convs and 1 fc for the boxes."""
    from mmdet.registry import HOOKS, MODELS as DET_MODELS

    from mmpcd.downstream import PreciseBNHook
    name = osp.basename(path)
    cfg = Config.fromfile(path)
    with DefaultScope.overwrite_default_scope('mmdet'):
        hooks = [HOOKS.build(h) for h in cfg.custom_hooks]
        roi_head = cfg.model.roi_head
        heads = {
            key: DET_MODELS.build(dict(roi_head[key], init_cfg=None))
            for key in ('shared_head', 'bbox_head', 'mask_head') if roi_head.get(key)
        }
    assert [type(h) for h in hooks] == [PreciseBNHook] and hooks[0].num_iters == 200
    assert cfg.optim_wrapper.paramwise_cfg.norm_decay_mult == 0
    assert (cfg.optim_wrapper.optimizer.lr, cfg.optim_wrapper.optimizer.weight_decay) == (0.02, 1e-4)
    assert cfg.train_dataloader.batch_size == 2  # x 8 GPUs = 16 images a batch
    warmup, steps = cfg.param_scheduler
    resize = next(t for t in _train_pipeline(cfg) if 'Resize' in t.type)
    if name.startswith('faster-rcnn'):  # VOC
        iters, milestones = (9000, [6750, 8250]) if name.endswith('9k_voc07.py') else (24000, [18000, 22000])
        assert (cfg.train_cfg.max_iters, steps.milestones, steps.by_epoch) == (iters, milestones, False)
        assert (warmup.type, warmup.start_factor, warmup.end, warmup.by_epoch) == ('LinearLR', 0.001, 100, False)
        shorts = list(range(480, 801, 32))
    else:  # COCO, 1x
        assert (cfg.train_cfg.max_epochs, steps.milestones, steps.by_epoch) == (12, [8, 11], True)
        assert (warmup.type, warmup.start_factor, warmup.end, warmup.by_epoch) == ('LinearLR', 0.001, 1000, False)
        shorts = list(range(640, 801, 32))
    assert resize.type == 'RandomChoiceResize' and resize.keep_ratio
    assert [tuple(scale) for scale in resize.scales] == [(1333, short) for short in shorts]
    if '-c4_' in name:
        head = heads['shared_head']
        head.eval()
        if 'mbv3' in name:  # res5 already ends in conv-BN-hardswish: no extra norm
            assert not hasattr(head, 'norm') and isinstance(head.layer16.bn, torch.nn.SyncBatchNorm)
        else:  # stage 4, then a new SyncBN on its output (MoCo's Res5ROIHeadsExtraNorm)
            assert isinstance(head.norm, torch.nn.SyncBatchNorm)
            assert head.norm.num_features == roi_head.bbox_head.in_channels
            with torch.no_grad():
                head.norm.running_mean.uniform_()
                x = torch.randn(2, roi_head.bbox_roi_extractor.out_channels, 14, 14)
                torch.testing.assert_close(head(x), head.norm(head.layer4(x)))
    else:  # FPN: SyncBN 4conv-1fc box head and SyncBN mask head
        box, mask = heads['bbox_head'], heads['mask_head']
        assert (len(box.shared_convs), len(box.shared_fcs), box.shared_fcs[0].out_features) == (4, 1, 1024)
        convs = list(box.shared_convs) + list(mask.convs)
        assert len(convs) == 8 and all(isinstance(conv.norm, torch.nn.SyncBatchNorm) for conv in convs)


@pytest.mark.parametrize('config', ['voc0712/faster-rcnn_r18-c4_ms-9k_voc07.py', 'coco/mask-rcnn_r18_fpn_1x_coco.py'])
def test_detection_optimizer_decays_no_norm_parameter(config):
    """detectron2's SOLVER.WEIGHT_DECAY_NORM = 0: in the optimizer mmengine builds, every norm layer's weight and
    bias (the C4 head's extra BN and the FPN heads' SyncBN included) has weight decay 0, the other weights 1e-4."""
    from mmdet.registry import MODELS as DET_MODELS
    from mmengine.optim import build_optim_wrapper
    cfg = Config.fromfile(f'{REPO}/configs/benchmarks/mmdetection/{config}')
    cfg.model.backbone.init_cfg = None
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = DET_MODELS.build(cfg.model)
        optimizer = build_optim_wrapper(model, cfg.optim_wrapper).optimizer
    norms = {
        id(p)
        for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for p in m.parameters()
    }
    decay = {id(p): group['weight_decay'] for group in optimizer.param_groups for p in group['params']}
    assert len(norms) > 40 and set(decay) == {id(p) for p in model.parameters() if p.requires_grad}
    assert all(decay[p] == 0 for p in norms) and all(v == 1e-4 for p, v in decay.items() if p not in norms)


@pytest.mark.slow
@pytest.mark.parametrize('codebase, config, metric', [('mmdet', 'voc07_short.py', 'pascal_voc/mAP'),
                                                      ('mmseg', 'cityscapes_short.py', 'mIoU')])
def test_mim_train(codebase, config, metric, pcd_checkpoint, tmp_path):
    """``mim train mmdet|mmseg CONFIG`` (openmim, through the codebase's own tools/train.py) runs our configs on
    the exported student and evaluates it."""
    student = tmp_path / 'student.pth'
    subprocess.run([
        sys.executable, 'tools/model_converters/export_student.py', pcd_checkpoint,
        str(student), '--norm-rescale', '0.25'
    ], cwd=REPO, check=True)
    options = [f'model.backbone.init_cfg.checkpoint={student}']
    if codebase == 'mmdet':
        options.append(f'model.roi_head.shared_head.init_cfg.checkpoint={student}')
    mim = osp.join(osp.dirname(sys.executable), 'mim')
    cmd = [
        mim, 'train', codebase, f'tests/configs/{config}', '--gpus', '0', '--work-dir',
        str(tmp_path / 'run'), '--cfg-options', *options
    ]
    out = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=1200)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-5000:]
    assert f'{codebase}/.mim/tools/train.py' in out.stdout + out.stderr  # the codebase's own script ran
    log = next((tmp_path / 'run').glob('*/*.log')).read_text()
    assert log.count(f' backend from path: {student}') == (2 if codebase == 'mmdet' else 1)
    scalars = next((tmp_path / 'run').glob('*/vis_data/scalars.json')).read_text().splitlines()
    values = [json.loads(line)[metric] for line in scalars if metric in line]
    assert values and math.isfinite(values[-1]) and 0 <= values[-1] <= 100


class _BNToy(BaseModel):
    """One BN on 3-channel inputs; records the mode of every call and whether it ran in training mode."""

    def __init__(self) -> None:
        super().__init__()
        self.bn = torch.nn.BatchNorm1d(3)
        self.linear = torch.nn.Linear(3, 1)
        self.calls: list = []

    def forward(self, inputs, data_samples=None, mode='tensor'):
        self.calls.append((mode, self.training))
        out = self.linear(self.bn(torch.stack(inputs)))
        return dict(loss=out.mean()) if mode == 'loss' else [out]


class _NoMetric(BaseMetric):

    def process(self, data_batch, data_samples) -> None:
        self.results.append(0)

    def compute_metrics(self, results) -> dict:
        return dict(zero=0.)


def _toy_runner(tmp_path, train_cfg: dict, num_iters: int, events: list) -> Tuple[Runner, List[dict]]:
    """An mmengine Runner on 16 3-d samples (batch 2, unshuffled) with PreciseBNHook and a hook logging evaluations;
    the hook's update_stats logs its calls in ``events`` too."""
    from mmengine.hooks import Hook

    class LogEvaluations(Hook):

        def before_val_epoch(self, runner) -> None:
            events.append(('val', runner.iter, runner.epoch))

    torch.manual_seed(0)
    samples = [dict(inputs=torch.randn(3) * 3 + 1) for _ in range(16)]
    loader = dict(dataset=samples, batch_size=2, sampler=dict(type='DefaultSampler', shuffle=False),
                  collate_fn=dict(type='pseudo_collate'), num_workers=0)
    runner = Runner(model=_BNToy(), work_dir=str(tmp_path), train_dataloader=loader, val_dataloader=loader,
                    train_cfg=train_cfg, val_cfg=dict(), val_evaluator=Evaluator([_NoMetric()]),
                    optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)), default_scope='mmdet',
                    custom_hooks=[dict(type='PreciseBNHook', num_iters=num_iters),
                                  LogEvaluations()], default_hooks=dict(checkpoint=None),
                    cfg=dict(train_dataloader=loader))
    hook = next(h for h in runner.hooks if type(h).__name__ == 'PreciseBNHook')
    update = hook.update_stats

    def logged_update(runner):
        events.append(('bn', runner.iter, runner.epoch))
        update(runner)

    hook.update_stats = logged_update
    return runner, samples


@pytest.mark.parametrize(
    'train_cfg, expected',
    [
        # iterations: evaluations after 4 and 8 (the last); precise BN just before each
        (dict(type='IterBasedTrainLoop', max_iters=8, val_interval=4), [('bn', 3, 0), ('val', 4, 0), ('bn', 7, 0),
                                                                        ('val', 8, 0)]),
        # epochs (8 iterations each): evaluation after epoch 2 and at the end (3); no evaluation after epoch 1
        (dict(type='EpochBasedTrainLoop', max_epochs=3, val_interval=2), [('bn', 16, 1), ('val', 16, 2), ('bn', 24, 2),
                                                                          ('val', 24, 3)]),
    ])
def test_precise_bn_hook_runs_before_each_evaluation(train_cfg, expected, tmp_path):
    """PreciseBNHook (registered in mmdet) runs right before every evaluation of mmengine's loops and at the end."""
    import mmpcd.downstream  # noqa: F401
    events = []
    with DefaultScope.overwrite_default_scope('mmdet'):
        runner, _ = _toy_runner(tmp_path, train_cfg, 2, events)
        runner.train()
    assert events == expected


def test_precise_bn_hook_averages_training_batch_statistics(tmp_path):
    """The running statistics become the mean over num_iters training batches of each batch's mean and unbiased
    variance, computed by the loss forward in training mode; the model's mode is restored."""
    import mmpcd.downstream  # noqa: F401
    with DefaultScope.overwrite_default_scope('mmdet'):
        runner, samples = _toy_runner(tmp_path, dict(type='IterBasedTrainLoop', max_iters=1), 3, [])
        runner.train()  # builds everything; its last iteration already runs the hook
        model, hook = runner.model, next(h for h in runner.hooks if type(h).__name__ == 'PreciseBNHook')
        model.bn.running_mean.fill_(100.)
        model.eval()
        model.calls.clear()
        type(hook).update_stats(hook, runner)
    batches = [torch.stack([s['inputs'] for s in samples[i:i + 2]]) for i in (0, 2, 4)]
    torch.testing.assert_close(model.bn.running_mean, torch.stack([b.mean(0) for b in batches]).mean(0))
    torch.testing.assert_close(model.bn.running_var, torch.stack([b.var(0) for b in batches]).mean(0))
    assert model.calls == [('loss', True)] * 3 and not model.training and model.bn.momentum == 0.1


@pytest.mark.parametrize('num_iters', [0, -1, 2.5, True, '200'])
def test_precise_bn_hook_rejects_bad_num_iters(num_iters):
    from mmpcd.downstream import PreciseBNHook
    with pytest.raises(ValueError, match='num_iters must be a positive integer'):
        PreciseBNHook(num_iters=num_iters)
