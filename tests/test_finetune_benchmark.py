"""The CPU fine-tuning benchmark (issue 32): the dense labels of pets_mini for mmdet (COCO instances from label maps)
and mmseg, the CPU-scale configs against the Table 1 configs they inherit, the benchmark's keys and table, and a
quick real run through the exporter, mmseg's and mmdet's runners and their metrics."""
import json
import os.path as osp
import subprocess
import sys

import numpy as np
import pycocotools.mask as mask_utils
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DATASETS, MODELS, DefaultScope
from PIL import Image

from mmpcd.benchmarks import finetune as bench
from mmpcd.datasets.label_maps_to_coco import label_maps_to_coco, write_coco

from conftest import REPO

PETS = osp.join(REPO, 'data', 'pets_mini')
#: mIoU points by which the quick fine-tuning of PCD's student must beat its random init's (docs/finetune_benchmark.md).
QUICK_MARGIN = 2.0


def _dense_set(root, labels, image_sizes=None, classes=('background', 'cat', 'dog')):
    """A dense data set in pets_mini's layout: one image (random pixels) and label PNG a given label map."""
    (root / 'train' / 'images').mkdir(parents=True)
    (root / 'train' / 'labels').mkdir(parents=True)
    (root / 'classes.txt').write_text('\n'.join(classes) + '\n')
    for i, label in enumerate(labels):
        h, w = image_sizes[i] if image_sizes else label.shape
        Image.fromarray(np.random.default_rng(i).integers(0, 255, (h, w, 3), dtype=np.uint8)).save(
            root / 'train' / 'images' / f'im{i}.jpg')
        Image.fromarray(label.astype(np.uint8), mode='L').save(root / 'train' / 'labels' / f'im{i}.png')
    return str(root)


def test_label_maps_become_one_coco_object_an_image(tmp_path):
    """The object of a constructed label map: category = its foreground class, mask = that class's pixels and the 255
    band (decoded from the RLE pixel for pixel), box = the mask's extent in COCO's [x, y, w, h], area = its pixels."""
    label = np.zeros((7, 9), np.uint8)
    label[2:5, 3:7] = 2  # the dog: rows 2-4, columns 3-6
    label[1, 3:7] = 255  # the border band above it
    label[2:5, 7] = 255  # and to its right
    root = _dense_set(tmp_path / 'set', [label])
    coco = label_maps_to_coco(root, 'train')
    assert coco['categories'] == [dict(id=1, name='cat'), dict(id=2, name='dog')]
    assert coco['images'] == [dict(id=1, file_name='train/images/im0.jpg', width=9, height=7)]
    (ann, ) = coco['annotations']
    assert (ann['id'], ann['image_id'], ann['category_id'], ann['iscrowd']) == (1, 1, 2, 0)
    expected = (label == 2) | (label == 255)
    decoded = mask_utils.decode(dict(size=ann['segmentation']['size'], counts=ann['segmentation']['counts'].encode()))
    np.testing.assert_array_equal(decoded.astype(bool), expected)
    assert ann['bbox'] == [3.0, 1.0, 5.0, 4.0]  # columns 3-7, rows 1-4
    assert ann['area'] == expected.sum() == 12 + 4 + 3
    path = str(tmp_path / 'out' / 'instances_train.json')
    write_coco(coco, path)
    with open(path) as f:
        assert json.load(f) == coco


@pytest.mark.parametrize('case, message', [
    ('value', 'holds values [7]: expected 0..2'),
    ('size', 'is 9x7 but its image is 10x7'),
    ('two objects', 'holds foreground classes 1 (cat), 2 (dog): expected exactly one'),
    ('no object', 'holds foreground classes none: expected exactly one'),
])
def test_bad_label_maps_are_refused_naming_the_file(tmp_path, case, message):
    label = np.zeros((7, 9), np.uint8)
    label[2:4, 2:4] = 1
    if case == 'value':
        label[0, 0] = 7
    elif case == 'two objects':
        label[5, 5] = 2
    elif case == 'no object':
        label[:] = 0
    root = _dense_set(tmp_path / 'set', [label], image_sizes=[(7, 10)] if case == 'size' else None)
    with pytest.raises(ValueError, match='label .*im0.png') as error:
        label_maps_to_coco(root, 'train')
    assert message in str(error.value)


def test_shipped_annotations_are_the_converters_output():
    """data/pets_mini/annotations are what tools/dataset_converters/label_maps_to_coco.py writes from the label maps:
    300 and 99 images, one object each, its category the image's breed in manifest.csv."""
    for split, count in (('train', 300), ('val', 99)):
        with open(osp.join(PETS, 'annotations', f'instances_{split}.json')) as f:
            shipped = json.load(f)
        assert shipped == label_maps_to_coco(PETS, split)
        assert len(shipped['images']) == len(shipped['annotations']) == count
    with open(osp.join(PETS, 'manifest.csv')) as f:
        header, *lines = [line.strip().split(',') for line in f]
    breed = {row[header.index('image')]: int(row[header.index('class_id')]) for row in lines}
    images = {im['id']: im['file_name'] for im in shipped['images']}
    assert all(ann['category_id'] == breed[images[ann['image_id']]] for ann in shipped['annotations'])


def _leaves(cfg, prefix=''):
    """A config as ``{dotted key: value}`` of its leaves (a list is one leaf)."""
    if isinstance(cfg, dict):
        out = {}
        for key, value in cfg.items():
            out.update(_leaves(value, f'{prefix}{key}.'))
        return out
    return {prefix[:-1]: cfg}


#: The Table 1 config each CPU-scale config inherits.
PARENTS = {
    'segmentation': osp.join(REPO, 'configs/benchmarks/mmsegmentation/cityscapes/fcn-bn-d6_r18-d16_90k_cityscapes.py'),
    'instances': osp.join(REPO, 'configs/benchmarks/mmdetection/coco/mask-rcnn_r18_fpn_1x_coco.py'),
}
#: What each CPU-scale config changes in the Table 1 config it inherits, by dotted key prefix (the config's comments
#: say why each is forced by the scale): data, class count, image sizes, batch and loader, schedule, SyncBN -> BN,
#: PreciseBN's batches, logging.
CHANGED = {
    'segmentation': ('data_root', 'metainfo', 'num_classes', 'crop_size', 'norm_cfg', 'model.data_preprocessor.size',
                     'model.backbone.norm_cfg', 'model.decode_head.num_classes', 'model.decode_head.norm_cfg',
                     'train_pipeline', 'test_pipeline', 'dataset', 'loader', 'train_dataloader', 'val_dataloader',
                     'test_dataloader', 'optim_wrapper.optimizer.lr', 'max_iters', 'param_scheduler',
                     'train_cfg.max_iters', 'train_cfg.val_interval', 'default_hooks.logger.interval',
                     'default_hooks.checkpoint.interval'),
    'instances': ('data_root', 'metainfo', 'num_classes', 'norm_cfg', 'model.backbone.norm_cfg', 'model.neck.norm_cfg',
                  'model.roi_head.bbox_head.num_classes', 'model.roi_head.bbox_head.norm_cfg',
                  'model.roi_head.mask_head.num_classes', 'model.roi_head.mask_head.norm_cfg',
                  'model.train_cfg.rpn_proposal.nms_pre', 'model.train_cfg.rpn_proposal.max_per_img',
                  'model.train_cfg.rcnn.sampler.num', 'model.test_cfg.rpn.nms_pre', 'model.test_cfg.rpn.max_per_img',
                  'optim_wrapper.optimizer.lr', 'train_pipeline', 'test_pipeline', 'dataset', 'loader',
                  'train_dataloader', 'val_dataloader', 'test_dataloader', 'val_evaluator.ann_file',
                  'test_evaluator.ann_file', 'max_epochs', 'param_scheduler', 'train_cfg.max_epochs',
                  'train_cfg.val_interval', 'custom_hooks', 'default_hooks.logger.interval',
                  'default_hooks.checkpoint.interval'),
}


@pytest.mark.parametrize('task', sorted(bench.TASKS))
def test_cpu_configs_differ_from_table1_only_where_the_scale_forces(task):
    """Every leaf of the Table 1 config stays, but for the listed changes; the model's structure (module types with
    SyncBN as BN, parameter shapes but for the class-count layers), the optimiser and the hooks are the parent's."""

    with open(bench.TASKS[task].config) as f:
        assert f"_base_ = ['{osp.relpath(PARENTS[task], osp.dirname(bench.TASKS[task].config))}']" in f.read()
    child, parent = Config.fromfile(bench.TASKS[task].config), Config.fromfile(PARENTS[task])
    a, b = _leaves(parent.to_dict()), _leaves(child.to_dict())
    differ = sorted(k for k in set(a) | set(b) if a.get(k, '<absent>') != b.get(k, '<absent>'))
    unexplained = [k for k in differ if not k.startswith(CHANGED[task])]
    assert not unexplained, unexplained
    # the optimiser is the parent's, its lr scaled with the batch (the linear scaling rule)
    batch = (child.train_dataloader.batch_size, 16)
    assert child.optim_wrapper.optimizer.lr == pytest.approx(parent.optim_wrapper.optimizer.lr * batch[0] / batch[1])
    child.optim_wrapper.optimizer.lr = parent.optim_wrapper.optimizer.lr
    assert child.optim_wrapper == parent.optim_wrapper
    assert [h['type'] for h in child.get('custom_hooks', [])] == [h['type'] for h in parent.get('custom_hooks', [])]
    assert {k: v['type']
            for k, v in child.default_hooks.items()} == {k: v['type']
                                                         for k, v in parent.default_hooks.items()}
    __import__('mmpcd.downstream')
    models = []
    with DefaultScope.overwrite_default_scope(child.default_scope):  # the test session's scope stays mmselfsup
        for cfg in (parent, child):
            model_cfg = cfg.model.copy()
            model_cfg.backbone.init_cfg = None
            models.append(MODELS.build(model_cfg))
    types = [[type(m).__name__.replace('SyncBatchNorm', 'BatchNorm2d') for m in model.modules()] for model in models]
    assert types[0] == types[1]
    shapes = [{k: v.shape for k, v in model.state_dict().items()} for model in models]
    assert shapes[0].keys() == shapes[1].keys()
    differ = {k for k in shapes[0] if shapes[0][k] != shapes[1][k]}
    assert differ and all(
        k.startswith(('decode_head.conv_seg', 'roi_head.bbox_head.fc_cls', 'roi_head.bbox_head.fc_reg',
                      'roi_head.mask_head.conv_logits')) for k in differ), differ


def test_finetune_key_changes_with_what_decides_the_result(tmp_path):
    """The folder of a fine-tuning run is named by its config's content, the student's tensors, the seed and the code:
    a changed lr, weight or seed is another run; the same content under another path is the same run."""
    student = tmp_path / 'student.pth'
    torch.save(dict(state_dict={'conv.weight': torch.ones(2, 2)}), student)
    cfg = Config.fromfile(bench.TASKS['segmentation'].config)
    key = bench.finetune_key(cfg, str(student), 0, 'code')
    copy = tmp_path / 'elsewhere.pth'
    torch.save(dict(state_dict={'conv.weight': torch.ones(2, 2)}, meta=dict(other=1)), copy)
    assert bench.finetune_key(cfg, str(copy), 0, 'code') == key
    assert bench.finetune_key(cfg, str(student), 1, 'code')['digest'] != key['digest']
    assert bench.finetune_key(cfg, str(student), 0, 'other code')['digest'] != key['digest']
    changed = Config.fromfile(bench.TASKS['segmentation'].config)
    changed.merge_from_dict({'optim_wrapper.optimizer.lr': 0.02})
    assert bench.finetune_key(changed, str(student), 0, 'code')['digest'] != key['digest']
    torch.save(dict(state_dict={'conv.weight': torch.full((2, 2), 2.)}), student)
    assert bench.finetune_key(cfg, str(student), 0, 'code')['digest'] != key['digest']


def test_table_gives_each_metric_with_mean_and_sample_std():
    """mean ± sample sd over seeds, the first and last logged training losses (5 logged iterations each, averaged over
    runs) and minutes a run; one run shows its value alone (no sd of one); a row without runs of a task shows '-'."""
    curve = [[10 * (i + 1), 2.0 - 0.1 * i] for i in range(12)]  # first five 1.8 on average, last five 1.1
    run = lambda miou, seconds=60.: dict(metrics=dict(mIoU=miou), seconds=seconds, losses=curve)  # noqa: E731
    results = dict(seeds=[0, 1], tasks=dict(segmentation={bench.RANDOM: [run(40.), run(42.)], 'PCD': [run(50.)]}))
    lines = bench.table(results).splitlines()
    assert lines[0] == ('| row | mIoU (%) | runs | train loss, first / last 5 logged iterations (segmentation) | '
                        'minutes a run |')
    assert lines[2] == '| random initialisation | 41.0 ± 1.4 | 2 | 1.80 / 1.10 | 1.0 |'
    assert lines[3] == '| PCD | 50.0 | 1 | 1.80 / 1.10 | 1.0 |'


def test_own_dense_set_through_the_benchmark_configs(tmp_path):
    """docs/own_data.md section 4: a constructed two-class set in pets_mini's layout, converted by the tool and named in
    configs that inherit the benchmark's, gives mmseg and mmdet datasets of its images with its classes."""
    labels = []
    for i in range(3):
        label = np.zeros((48, 64), np.uint8)
        label[4:44, 5 + i:45 + i] = 1 + i % 2  # above mmdet's min_size of 32 px for training
        labels.append(label)
    root = _dense_set(tmp_path / 'set', labels)
    (tmp_path / 'set' / 'val').symlink_to(tmp_path / 'set' / 'train')
    out = subprocess.run([sys.executable, 'tools/dataset_converters/label_maps_to_coco.py', root], cwd=REPO,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert 'instances_val.json: 3 images, 3 objects' in out.stdout
    seg = tmp_path / 'seg.py'
    seg.write_text(f'''_base_ = {bench.TASKS['segmentation'].config!r}
data_root = {root + '/'!r}
metainfo = dict(classes=('background', 'cat', 'dog'), palette=[[0, 0, 0], [255, 0, 0], [0, 0, 255]])
train_dataloader = dict(dataset=dict(data_root=data_root, metainfo=metainfo))
val_dataloader = dict(dataset=dict(data_root=data_root, metainfo=metainfo))
test_dataloader = val_dataloader
model = dict(decode_head=dict(num_classes=3))
''')
    det = tmp_path / 'det.py'
    det.write_text(f'''_base_ = {bench.TASKS['instances'].config!r}
data_root = {root + '/'!r}
metainfo = dict(classes=('cat', 'dog'))
train_dataloader = dict(dataset=dict(data_root=data_root, metainfo=metainfo))
val_dataloader = dict(dataset=dict(data_root=data_root, metainfo=metainfo))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
model = dict(roi_head=dict(bbox_head=dict(num_classes=2), mask_head=dict(num_classes=2)))
''')
    for config, scope, classes in ((seg, 'mmseg', ('background', 'cat', 'dog')), (det, 'mmdet', ('cat', 'dog'))):
        cfg = Config.fromfile(str(config))
        with DefaultScope.overwrite_default_scope(scope):
            for loader in (cfg.train_dataloader, cfg.val_dataloader):
                dataset = DATASETS.build(loader.dataset)
                assert len(dataset) == 3 and tuple(dataset.metainfo['classes']) == classes
                assert dataset[0]['data_samples'] is not None
            if scope == 'mmdet':
                instances = DATASETS.build(cfg.val_dataloader.dataset).get_data_info(0)['instances']
                assert [i['bbox_label'] for i in instances] == [0]  # the cat, label 1, is mmdet's class 0


@pytest.mark.slow
def test_quick_benchmark_fine_tunes_pcd_and_its_random_init(tmp_path, quick_dense_pcd):
    """tools/benchmarks/finetune_cpu.py --quick for the random init and PCD, seed 0: the dense benchmark's quick PCD
    run (conftest's quick_dense_pcd: 6 epochs, reused here, not trained again), both exports, mmseg's and mmdet's
    runners and metrics, end to end on pets_mini. Every run loaded its exported student (mmengine's log of the
    Pretrained init); the metrics are in range; after 60 iterations of the FCN, PCD's student segments the val split
    better than its random init by QUICK_MARGIN; a rerun from the work dir moved elsewhere reuses every run there."""
    pretrain_dir, pretrained = quick_dense_pcd
    assert pretrained.returncode == 0, pretrained.stderr[-3000:]
    cmd = [
        sys.executable, 'tools/benchmarks/finetune_cpu.py', '--quick', '--rows', bench.RANDOM, 'PCD', '--seeds', '1',
        '--work-dir',
        str(tmp_path / 'finetune'), '--pretrain-dir', pretrain_dir
    ]
    out = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=2400)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-5000:]
    assert 'PCD_seed0: reusing its finished run' in out.stdout
    results = json.loads((tmp_path / 'finetune' / 'results.json').read_text())
    scores = {
        task: {row: runs[0]['metrics']
               for row, runs in per_row.items()}
        for task, per_row in results['tasks'].items()
    }
    for task, per_row in results['tasks'].items():
        for row, (run, ) in per_row.items():
            assert all(0 <= v <= 100 for v in run['metrics'].values()), (task, row, run['metrics'])
            log = next(
                osp.join(run['run_dir'], d, f'{d}.log') for d in sorted(__import__('os').listdir(run['run_dir']))
                if osp.isfile(osp.join(run['run_dir'], d, f'{d}.log')))
            student = osp.join(osp.dirname(run['run_dir']), 'student.pth')
            assert f'backend from path: {student}' in open(log).read(), (task, row)
            meta = torch.load(student, weights_only=True)['meta']
            assert meta['norm_rescale'] == (0.25 if task == 'segmentation' else None)
            if task == 'segmentation':  # the quick schedule, not the benchmark's SEGMENTATION_ITERS
                assert run['losses'][-1][0] == bench.QUICK_FINETUNE[task]['train_cfg.max_iters'], row
    assert scores['segmentation']['PCD']['mIoU'] > scores['segmentation'][bench.RANDOM]['mIoU'] + QUICK_MARGIN, scores
    moved = tmp_path / 'moved'  # rerun from a moved work dir: its runs are reused where they are now
    (tmp_path / 'finetune').rename(moved)
    at = cmd.index('--work-dir') + 1
    again = subprocess.run([*cmd[:at], str(moved), *cmd[at + 1:]], cwd=REPO, capture_output=True, text=True,
                           timeout=600)
    assert again.returncode == 0 and again.stdout.count('reusing its finished fine-tuning') == 4, again.stdout[-3000:]
    rerun = json.loads((moved / 'results.json').read_text())['tasks']
    assert all(run['run_dir'].startswith(str(moved)) for per_row in rerun.values() for runs in per_row.values()
               for run in runs), rerun


def test_segmentation_schedule_keeps_the_configs_shape():
    """``--segmentation-iters`` scales the FCN schedule as its config does: at the config's own length the resolved
    config is unchanged (so its finished runs are reused); at 2000 the warm-up and the steps move with it."""
    config = bench.TASKS['segmentation'].config
    shipped = Config.fromfile(config)
    same = Config.fromfile(config)
    same.merge_from_dict(bench.segmentation_schedule(shipped.train_cfg.max_iters))
    assert same.pretty_text == shipped.pretty_text
    longer = Config.fromfile(config)
    longer.merge_from_dict(bench.segmentation_schedule(2000))
    assert longer.train_cfg.max_iters == longer.param_scheduler[1].end == 2000
    assert longer.param_scheduler[0].end == 22 and longer.param_scheduler[1].milestones == [1400, 1800]
    with pytest.raises(ValueError, match='at least 90'):
        bench.segmentation_schedule(60)


def test_quick_with_another_schedule_is_refused():
    """``--quick`` has its own FCN schedule: a ``--segmentation-iters`` beside it would be ignored, so it is an error
    (before any training)."""
    out = subprocess.run([
        sys.executable, 'tools/benchmarks/finetune_cpu.py', '--quick', '--segmentation-iters', '500', '--work-dir',
        '/nonexistent/finetune'
    ], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 1 and '--quick has its own FCN schedule' in out.stderr, out.stderr[-2000:]
