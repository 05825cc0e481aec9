"""Short versions of every evaluation of Table 1 on the shipped real data, through tools/benchmarks/run_downstream.py:
export the student, fine-tune a few iterations, evaluate with the real metric, read the numbers back."""
import glob
import json
import math
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from conftest import REPO
from mmselfsup.registry import MODELS

# task: (short config in tests/configs, seeds, metric -> upper bound of its range)
SHORT_RUNS = {
    'voc07': ('voc07_short.py', 1, {'pascal_voc/AP50': 100., 'pascal_voc/mAP': 100.}),
    'coco-c4': ('coco_c4_short.py', 1, {'coco/bbox_mAP': 1., 'coco/segm_mAP': 1.}),
    'coco-fpn': ('coco_fpn_short.py', 1, {'coco/bbox_mAP': 1., 'coco/segm_mAP': 1.}),
    'cityscapes': ('cityscapes_short.py', 2, {'mIoU': 100.}),
    'linear': ('linear_cifar_short.py', 1, {'accuracy/top1': 100.}),
}


@pytest.fixture(scope='module')
def pcd_checkpoint(tmp_path_factory) -> str:
    """A checkpoint laid out like tools/train.py's, holding a ResNet-18 student."""
    torch.manual_seed(0)
    backbone = MODELS.build(dict(type='ResNet', depth=18, out_indices=[4]))
    path = str(tmp_path_factory.mktemp('pcd') / 'epoch_1.pth')
    torch.save(dict(meta=dict(epoch=1), state_dict={f'backbone.{k}': v for k, v in backbone.state_dict().items()}),
               path)
    return path


@pytest.mark.slow
@pytest.mark.parametrize('task', sorted(SHORT_RUNS))
def test_short_evaluation(task, pcd_checkpoint, tmp_path):
    config, seeds, ranges = SHORT_RUNS[task]
    cmd = [sys.executable, 'tools/benchmarks/run_downstream.py', task, pcd_checkpoint, '--gpus', '1',
           '--seeds', str(seeds), '--work-dir', str(tmp_path), '--config', f'tests/configs/{config}']
    out = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=1200)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-5000:]
    summary = json.loads((tmp_path / 'summary.json').read_text())
    assert set(summary) == set(ranges)
    for metric, upper in ranges.items():
        runs = summary[metric]['runs']
        assert len(runs) == seeds and all(math.isfinite(v) and 0 <= v <= upper for v in runs), (metric, runs)
    assert '| mean | std |' in out.stdout
    # the fine-tuned backbone started from the exported student (NormRescale for C4 / FCN)
    student = torch.load(tmp_path / 'student.pth', weights_only=True)
    assert student['meta']['norm_rescale'] == (0.25 if task in ('voc07', 'coco-c4', 'cityscapes') else None)
    log = next(tmp_path.glob('seed0/*/*.log')).read_text()
    assert f'Load checkpoint from {tmp_path}/student.pth' in log or 'student.pth' in log


TABLE6 = sorted(glob.glob(f'{REPO}/configs/benchmarks/**/*r34*.py', recursive=True)
                + glob.glob(f'{REPO}/configs/benchmarks/**/*r50*.py', recursive=True)
                + glob.glob(f'{REPO}/configs/benchmarks/**/resnet[35]*.py', recursive=True)
                + glob.glob(f'{REPO}/configs/benchmarks/**/*mbv3*.py', recursive=True)
                + glob.glob(f'{REPO}/configs/benchmarks/**/mobilenetv3*.py', recursive=True))


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


@pytest.mark.slow
@pytest.mark.parametrize('codebase, config, metric', [
    ('mmdet', 'voc07_short.py', 'pascal_voc/mAP'), ('mmseg', 'cityscapes_short.py', 'mIoU')])
def test_mim_train(codebase, config, metric, pcd_checkpoint, tmp_path):
    """``mim train mmdet|mmseg CONFIG`` (openmim, through the codebase's own tools/train.py) runs our configs on
    the exported student and evaluates it."""
    student = tmp_path / 'student.pth'
    subprocess.run([sys.executable, 'tools/model_converters/export_student.py', pcd_checkpoint, str(student),
                    '--norm-rescale', '0.25'], cwd=REPO, check=True)
    options = [f'model.backbone.init_cfg.checkpoint={student}']
    if codebase == 'mmdet':
        options.append(f'model.roi_head.shared_head.init_cfg.checkpoint={student}')
    mim = osp.join(osp.dirname(sys.executable), 'mim')
    cmd = [mim, 'train', codebase, f'tests/configs/{config}', '--gpus', '0', '--work-dir', str(tmp_path / 'run'),
           '--cfg-options', *options]
    out = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=1200)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-5000:]
    assert f'{codebase}/.mim/tools/train.py' in out.stdout + out.stderr  # the codebase's own script ran
    log = next((tmp_path / 'run').glob('*/*.log')).read_text()
    assert log.count(f'Loads checkpoint by local backend from path: {student}') == (2 if codebase == 'mmdet' else 1)
    scalars = next((tmp_path / 'run').glob('*/vis_data/scalars.json')).read_text().splitlines()
    values = [json.loads(line)[metric] for line in scalars if metric in line]
    assert values and math.isfinite(values[-1]) and 0 <= values[-1] <= 100
