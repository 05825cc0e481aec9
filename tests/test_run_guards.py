"""Runs that would go silently wrong stop with a message naming the cause: overrides nothing reads, arguments nothing
takes, values out of range, a non-finite loss or student, two runs in one work dir, a resume with another number of
processes, configs read by running them (issue 25); keys of untyped runner dicts nothing reads, an empty
last_checkpoint, a resume with another batch size, an exploding loss (issue 33)."""
import glob
import itertools
import json
import logging
import math
import os
import os.path as osp
import runpy
import shutil
import socket
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MessageHub, MMLogger
from mmengine.runner.checkpoint import _load_checkpoint

from mmpcd.analysis import queue_length
from mmpcd.apis import build_config, runner_from_config, train
from mmpcd.engine import (BatchSizeMismatchError, ConfigError, ExplodingLossError, NonFiniteLossError,
                          NonFiniteLossHook, WorkDirLockedError, WorldSizeMismatchError, check_arguments, check_collate,
                          check_ranges, check_work_dir, work_dir_lock)
from mmpcd.fileio import CheckpointLoadError
from mmpcd.models.teachers import load_teacher_checkpoint
from mmpcd.models.utils.state_dict import NonFiniteWeightsError
from mmpcd.testing import random_teacher
from mmselfsup.registry import DATASETS

from conftest import REPO, SMALL

DEMO = 'configs/pcd_r18_demo.py'


def small_run(work_dir, name: str, **options) -> dict:
    """The keyword arguments of ``train`` for the demo on 64-px crops, 6 iterations an epoch."""
    return dict(config=DEMO, work_dir=str(work_dir), cfg_options={**SMALL, 'experiment_name': name, **options})


@pytest.fixture(scope='module')
def one_epoch(tmp_path_factory):
    """The work dir of a small run of 1 epoch (6 iterations), trained once for the tests that resume it."""
    work_dir = tmp_path_factory.mktemp('one_epoch')
    train(**small_run(work_dir, 'first'))
    return work_dir


def copy_run(one_epoch, tmp_path):
    """A copy of that work dir, its last_checkpoint naming the copy's checkpoint."""
    work_dir = tmp_path / 'run'
    shutil.copytree(one_epoch, work_dir)
    (work_dir / 'last_checkpoint').write_text(str(work_dir / 'epoch_1.pth'))
    return work_dir


def warnings_of(caplog, action):
    """The warnings mmengine's logger gives while ``action()`` runs (it does not reach caplog's root logger)."""
    logger = MMLogger.get_current_instance()
    logger.addHandler(caplog.handler)
    try:
        action()
    finally:
        logger.removeHandler(caplog.handler)
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


# 1. --cfg-options keys that nothing reads


@pytest.mark.parametrize('key, meant', [('optimizer.lr', 'optim_wrapper.optimizer.lr'),
                                        ('max_epochs', 'train_cfg.max_epochs'),
                                        ('optim_wraper.clip_grad', 'optim_wrapper')])
def test_an_override_nothing_reads_is_refused(key, meant):
    with pytest.raises(ConfigError, match=f"{key}: nothing reads the top-level key '{key.split('.')[0]}'.*did you "
                       f'mean {meant}'):
        build_config(DEMO, cfg_options={key: 0.5})
    cfg = build_config(DEMO, cfg_options={'optim_wrapper.optimizer.lr': 0.5, 'randomness.seed': 3})
    assert cfg.optim_wrapper.optimizer.lr == 0.5


# 2. hook and runner arguments, checked before any step


@pytest.mark.parametrize('key, message', [
    ('default_hooks.checkpoint.interva', "CheckpointHook takes no argument 'interva' .*did you mean interval"),
    ('model.head.queue_length', "PixelContrastHead takes no argument 'queue_length'; did you mean queue_len"),
    ('train_cfg.max_epoch', "EpochBasedTrainLoop takes no argument 'max_epoch'; did you mean max_epochs"),
    ('optim_wrapper.optimizer.momentun', "LARS takes no argument 'momentun'; did you mean momentum"),
])
def test_an_argument_nothing_takes_is_refused(key, message):
    cfg = build_config(DEMO, cfg_options={key: 5})
    with pytest.raises(ConfigError, match=f'{key}: {message}'):
        check_arguments(cfg)


@pytest.mark.parametrize('key, message', [
    ('auto_scale_lr.enabel', r"mmengine's Runner.scale_lr reads no key 'enabel' of auto_scale_lr \(it reads "
     r'base_batch_size, enable\), so it would be ignored; did you mean enable\?'),
    ('env_cfg.cudnn_benchmarkk', r"Runner.setup_env reads no key 'cudnn_benchmarkk' of env_cfg \(it reads "
     r'cudnn_benchmark, dist_cfg, mp_cfg, resource_limit\).*did you mean cudnn_benchmark\?'),
    ('env_cfg.mp_cfg.opencv_num_thread', "set_multi_processing reads no key 'opencv_num_thread' of env_cfg.mp_cfg "
     r'\(it reads mp_start_method, opencv_num_threads\).*did you mean opencv_num_threads\?'),
    ('randomness.sed', r"Runner.set_randomness reads no key 'sed' of randomness \(it reads deterministic, "
     r'diff_rank_seed, seed\).*did you mean seed\?'),
    ('log_processor.window_sise', "LogProcessor reads no key 'window_sise'.*did you mean window_size"),
    ('train_dataloader.batch_sise', "Runner.build_dataloader .*reads no key 'batch_sise'.*did you mean batch_size"),
    ('train_dataloader.prefetch', "reads no key 'prefetch'.*did you mean prefetch_factor"),
    ('env_cfg.gpu_ids', "reads no key 'gpu_ids' of env_cfg .*; remove it"),
])
def test_a_key_of_an_untyped_runner_dict_that_nothing_reads_is_refused(key, message):
    """auto_scale_lr, env_cfg, randomness, log_processor and the dataloaders are read key by key: a typo there was
    ignored (issue 33 item 10). The key, the keys read there and the fix are named."""
    cfg = build_config(DEMO, cfg_options={key: 5})
    with pytest.raises(ConfigError, match=f'{key}: .*{message}'):
        check_arguments(cfg)


def test_resume_must_be_true_or_false(tmp_path):
    """A path as ``resume`` was read as True: mmengine resumed from the work dir's latest checkpoint instead."""
    cfg = build_config(DEMO, work_dir=str(tmp_path), cfg_options={'resume': 'work_dirs/x/epoch_3.pth'})
    with pytest.raises(
            ConfigError, match="resume='work_dirs/x/epoch_3.pth': mmengine's Runner takes resume as True or False, "
            'and reads this as True: it would resume from the latest checkpoint of the work dir.*set '
            "load_from='work_dirs/x/epoch_3.pth' and resume=True"):
        check_work_dir(cfg)


def test_a_hook_argument_typo_stops_the_run_before_any_step(tmp_path):
    out = subprocess.run([
        sys.executable, 'tools/train.py', DEMO, '--work-dir',
        str(tmp_path), '--cfg-options', 'default_hooks.checkpoint.interva=5'
    ], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert out.returncode != 0 and 'default_hooks.checkpoint.interva: CheckpointHook takes no argument' in out.stderr
    assert 'Epoch(train)' not in out.stdout + out.stderr


def test_every_shipped_config_passes_the_checks():
    """No false alarm: every config of configs/ (pre-training, peers, mmdet / mmseg benchmarks) passes."""
    configs = sorted(glob.glob(osp.join(REPO, 'configs', '**', '*.py'), recursive=True))
    configs = [c for c in configs if '_base_' not in c]
    assert len(configs) > 30
    for config in configs:
        cfg = Config.fromfile(config)
        check_arguments(cfg)
        check_ranges(cfg)
        check_collate(cfg)


# 3. a non-finite loss stops the run; a non-finite teacher is refused when it loads


def test_a_nan_loss_stops_the_run_at_once_and_writes_no_checkpoint(tmp_path):
    runner = runner_from_config(build_config(**small_run(tmp_path, 'nan_loss')))
    runner.model.head.temperature = 0.0  # past the range check, as a diverging model would get there
    with pytest.raises(
            NonFiniteLossError, match=r'the training loss is not finite at iteration 1 \(epoch 1\): '
            r'loss=(nan|inf).*from the first iteration of this run.*temperature'):
        runner.train()
    assert not glob.glob(str(tmp_path / '*.pth'))


def test_an_exploding_loss_stops_the_run_and_names_the_last_good_checkpoint(tmp_path, one_epoch):
    """A loss that jumps to 1e6 times its level, still finite, stops the run at that iteration: no checkpoint of the
    wrecked weights is written (before, the run saved them: finite, so the export took them) and the error names
    the last checkpoint saved before it, epoch_1.pth of this work dir, as the one to resume from (issue 33 item 9)."""
    work_dir = copy_run(one_epoch, tmp_path)
    runner = runner_from_config(
        build_config(**small_run(work_dir, 'exploding', **{'train_cfg.max_epochs': 2}),
                     resume=str(work_dir / 'epoch_1.pth')))
    loss, calls = runner.model.loss, itertools.count(1)

    def exploding(*args, **kwargs):  # the third iteration of epoch 2 (iteration 9) explodes
        losses = loss(*args, **kwargs)
        return {k: v * 1e6 for k, v in losses.items()} if next(calls) == 3 else losses

    runner.model.loss = exploding
    with pytest.raises(
            ExplodingLossError, match=r'the training loss exploded at iteration 9 \(epoch 2\): loss=[0-9.e+]+, '
            r'[0-9.e+]+ times the median [0-9.]+ of the last 2 iterations \(more than explosion_ratio=100\)\. The run '
            r'is stopped.*The last good checkpoint is ' + str(work_dir / 'epoch_1.pth') + ': the last one saved'):
        runner.train()
    assert runner.iter == 8 and not (work_dir / 'epoch_2.pth').exists()


class FakeRunner:
    """What NonFiniteLossHook reads of a runner: the iteration and epoch, the config, the message hub."""

    def __init__(self):
        self.iter, self.epoch, self.cfg = 0, 0, {}
        self.message_hub = MessageHub('non-finite-unit')


@pytest.mark.parametrize(
    'losses, stops_at',
    [
        ([5.0, 5.2, 4.9, 490.0, 4.0], None),  # 98 times the median: a spike, not an explosion
        ([5.0, 5.2, 4.9, 520.0], 4),  # 104 times it
        ([0.0, 0.0, 3.0], None),  # against a median of 0: not judged
        ([1e9], None),  # the first iteration of a run has nothing to compare with
        ([8.0] + [2.0**-k for k in range(12)] + [30.0], 14),  # the median follows the loss down
    ])
def test_an_explosion_is_a_loss_far_above_the_recent_median(losses, stops_at):
    hook, runner = NonFiniteLossHook(window=20), FakeRunner()
    hook.before_train(runner)
    for runner.iter, value in enumerate(losses):
        if runner.iter + 1 == stops_at:
            with pytest.raises(ExplodingLossError, match='No checkpoint of this run is left to resume from'):
                hook.after_train_iter(runner, runner.iter, outputs=dict(loss=torch.tensor(value)))
            return
        hook.after_train_iter(runner, runner.iter, outputs=dict(loss=torch.tensor(value)))
    assert stops_at is None


def test_a_teacher_with_nan_weights_is_refused_when_it_loads(tmp_path):
    checkpoint = random_teacher('mocov3', 0)
    state = checkpoint['state_dict']
    for key in ('module.base_encoder.layer1.0.conv1.weight', 'module.momentum_encoder.layer1.0.conv1.weight'):
        state[key][0, 0, 0, 0] = math.nan
    path = str(tmp_path / 'r-50-1000ep.pth.tar')
    torch.save(checkpoint, path)
    with pytest.raises(
            NonFiniteWeightsError, match=f'the teacher checkpoint {path} holds non-finite weights '
            r'\(nan or inf\): backbone layer1.0.conv1.weight of .*download or copy the released file'):
        load_teacher_checkpoint(path, 'mocov3')


# 4. an export of a non-finite student is refused


def test_a_nan_student_is_never_exported(tmp_path):
    state = {'backbone.conv1.weight': torch.full((4, 3, 3, 3), math.nan), 'backbone.bn1.running_var': torch.ones(4)}
    checkpoint, out = str(tmp_path / 'epoch_1.pth'), str(tmp_path / 'student.pth')
    torch.save(dict(meta=dict(epoch=1), state_dict=state), checkpoint)
    done = subprocess.run([sys.executable, 'tools/model_converters/export_student.py', checkpoint, out], cwd=REPO,
                          capture_output=True, text=True)
    assert done.returncode != 0 and not osp.exists(out)
    assert (f"the 'backbone.' module of {checkpoint} holds non-finite weights (nan or inf): conv1.weight of 2 "
            'tensors. The run that wrote it diverged: nothing was exported') in done.stderr


# 5. ranges, at build time (queue_len too, from the unclear failures)


@pytest.mark.parametrize('key, value, message', [
    ('model.head.temperature', -0.2, 'a temperature must be a finite number > 0'),
    ('model.head.temperature', 0, 'a temperature must be a finite number > 0'),
    ('model.head.temperature', math.inf, 'a temperature must be a finite number > 0'),
    ('model.head.queue_len', 1e3, r'the queue length must be a whole number > 0 \(an int: 1e3 is a float, write'),
    ('model.head.queue_len', 0, 'the queue length must be a whole number > 0'),
    ('optim_wrapper.optimizer.momentum', 1.5, r'a momentum must be a number in \[0, 1\]'),
])
def test_values_out_of_range_are_refused_by_name(key, value, message):
    cfg = build_config(DEMO, cfg_options={key: value})
    with pytest.raises(ConfigError, match=f'{key}={value!r}: {message}'):
        check_ranges(cfg)


# 6. one run at a time in a work dir


def test_the_work_dir_lock_names_its_holder_and_replaces_a_stale_one(tmp_path, caplog):
    with work_dir_lock(str(tmp_path)) as lock:
        holder = json.loads(open(lock).read())
        assert holder['pid'] == os.getpid() and holder['host'] == socket.gethostname()
        with pytest.raises(
                WorkDirLockedError, match=f'the work dir {tmp_path} is in use by another run: process '
                f'{os.getpid()} on {socket.gethostname()}, started'):
            with work_dir_lock(str(tmp_path)):
                pass
    assert not osp.exists(lock)  # removed at the end

    dead = subprocess.Popen(['true'])
    dead.wait()
    with open(lock, 'w') as f:
        json.dump(dict(pid=dead.pid, host=socket.gethostname(), started='then', command='killed run'), f)

    def take():
        with work_dir_lock(str(tmp_path)):
            assert json.loads(open(lock).read())['pid'] == os.getpid()

    warnings = warnings_of(caplog, take)
    assert any(f'removing the stale lock of process {dead.pid}' in w for w in warnings)


def test_a_second_run_into_a_work_dir_in_use_is_refused(tmp_path):
    """tools/train.py takes the lock: a live holder (this test's process) stops it before anything is written."""
    with work_dir_lock(str(tmp_path)):
        out = subprocess.run([sys.executable, 'tools/train.py', DEMO, '--work-dir',
                              str(tmp_path)], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert out.returncode != 0 and f'the work dir {tmp_path} is in use by another run: process {os.getpid()}' \
        in out.stderr
    assert os.listdir(tmp_path) == []


# 7. a resume with another number of processes


def test_a_resume_with_another_world_size_is_refused_before_any_step(tmp_path, one_epoch):
    work_dir = copy_run(one_epoch, tmp_path)
    checkpoint = torch.load(work_dir / 'epoch_1.pth', weights_only=True)
    assert checkpoint['meta']['world_size'] == 1
    checkpoint['meta']['world_size'] = 2  # as a run of 2 processes writes it
    torch.save(checkpoint, work_dir / 'epoch_1.pth')
    with pytest.raises(
            WorldSizeMismatchError, match='--resume: the checkpoint was written by a run of 2 processes, '
            'and this run has 1.*Resume with 2 processes'):
        train(**small_run(work_dir, 'resumed', **{'train_cfg.max_epochs': 2}), resume='auto')
    assert not osp.exists(work_dir / 'epoch_2.pth')


def test_a_resume_with_another_batch_size_is_refused_before_any_step(tmp_path, one_epoch):
    """The schedule of a run resumed at batch 2 after batch 4 would go on in the old run's iterations (issue 33
    item 8): refused before any step, naming the batch size to resume with and the other way out."""
    work_dir = copy_run(one_epoch, tmp_path)
    assert torch.load(work_dir / 'epoch_1.pth', weights_only=True)['meta']['batch_size'] == 4
    runner = runner_from_config(
        build_config(**small_run(work_dir, 'resumed', **{'train_cfg.max_epochs': 2, 'train_dataloader.batch_size': 2}),
                     resume='auto'))
    with pytest.raises(
            BatchSizeMismatchError, match=r'--resume: the checkpoint was written by a run of '
            r'train_dataloader.batch_size=4 \(a process\), and this run has 2\. .*an epoch is about 4/2 times as many '
            r'iterations here.*Resume with the same batch size \(--cfg-options train_dataloader.batch_size=4 '
            r'--resume\), or start a new run.*load_from=CHECKPOINT, without --resume'):
        runner.train()
    assert runner.iter == 6 and not osp.exists(work_dir / 'epoch_2.pth')


def test_an_empty_last_checkpoint_resumes_from_the_newest_complete_checkpoint(tmp_path, one_epoch, caplog):
    """mmengine writes last_checkpoint in place: a kill leaves it empty, and --resume failed with "No such file or
    directory: ''" (issue 33 item 7). The newest complete checkpoint is taken (a newer one cut short is not), and the
    log names it."""
    work_dir = copy_run(one_epoch, tmp_path)
    (work_dir / 'last_checkpoint').write_text('')
    whole = (work_dir / 'epoch_1.pth').read_bytes()
    (work_dir / 'epoch_2.pth').write_bytes(whole[:len(whole) // 2])  # killed while it was written
    cfg = build_config(**small_run(work_dir, 'resumed'), resume='auto')  # max_epochs 1: resumed, nothing to train
    runner = None

    def build():
        nonlocal runner
        runner = runner_from_config(cfg)

    warnings = warnings_of(caplog, build)
    assert cfg.load_from == str(work_dir / 'epoch_1.pth')
    assert any(f'--resume: {work_dir}/last_checkpoint is empty' in w and 'Resuming from the newest complete '
               f'checkpoint in the work dir instead: {work_dir}/epoch_1.pth (saved at iteration 6)' in w
               for w in warnings), warnings
    runner.train()
    assert runner.iter == 6 and runner.epoch == 1


# 8. configs are read, never run


def test_plot_curves_reads_the_queue_length_without_running_the_config(tmp_path):
    log_dir = tmp_path / '20260101_000000' / 'vis_data'
    log_dir.mkdir(parents=True)
    (log_dir / '20260101_000000.json').write_text('{"iter": 1, "loss": 5.0, "lr": 0.1}\n')
    marker = tmp_path / 'ran'
    (log_dir / 'config.py').write_text(f'open({str(marker)!r}, "w").close()\n'
                                       'model = dict(type="PCD", head=dict(type="PixelContrastHead", queue_len=128))\n')
    assert queue_length(str(tmp_path)) == 128
    assert not marker.exists()
    (log_dir / 'config.py').write_text(f'model = dict(head=dict(queue_len=len(open({str(marker)!r}, "w").name)))\n')
    with pytest.raises(ValueError, match='model.head.queue_len is not a literal value.*--num-negatives'):
        queue_length(str(tmp_path))
    assert not marker.exists()
    runpy.run_path(osp.join(REPO, 'tools', 'analysis_tools', 'plot_curves.py'), run_name='not_main')  # importable


# Unclear failures, now named


class Payload:
    """An object that a checkpoint may pickle: code that would run where ``weights_only`` is off."""


@pytest.mark.parametrize('kind, reason', [('code', 'Unsupported global: GLOBAL test_run_guards.Payload'),
                                          ('empty', r'empty file \(0 bytes\)'),
                                          ('truncated', 'PytorchStreamReader failed')])
def test_load_from_goes_through_the_safe_loader(tmp_path, kind, reason):
    path = tmp_path / 'init.pth'
    torch.save(dict(state_dict=dict(w=torch.ones(1000)), payload=Payload() if kind == 'code' else None), path)
    whole = path.read_bytes()
    path.write_bytes(dict(code=whole, empty=b'', truncated=whole[:len(whole) // 2])[kind])
    with pytest.raises(CheckpointLoadError, match=f'cannot load the checkpoint {path} with torch.load.*{reason}') \
            as info:
        _load_checkpoint(str(path))  # what Runner.load_checkpoint (load_from, --resume) and Pretrained call
    assert 'Do not load it with weights_only=False' in str(info.value) and info.value.__cause__ is None


def test_a_dataset_smaller_than_a_batch_is_named(tmp_path):
    (tmp_path / 'train').mkdir()
    os.symlink(osp.join(REPO, 'data', 'coco_mini', 'train', '000000000071.jpg'), tmp_path / 'train' / 'one.jpg')
    with pytest.raises(
            ConfigError, match=r'the training set has 1 images \(1 per process\), fewer than one batch '
            r'\(train_dataloader.batch_size=4, drop_last=True\)'):
        train(**small_run(tmp_path / 'w', 'tiny', **
                          {'train_dataloader.dataset.data_root': str(tmp_path), 'train_dataloader.drop_last': True}))


def test_resume_with_nothing_to_resume_is_an_error_and_a_fresh_run_over_an_old_one_is_warned(tmp_path, caplog):
    cfg = build_config(DEMO, work_dir=str(tmp_path), resume='auto')
    with pytest.raises(FileNotFoundError, match=f'--resume: the work dir {tmp_path} holds no checkpoint'):
        check_work_dir(cfg)
    torch.save(dict(meta=dict(epoch=3, iter=3), state_dict={}), tmp_path / 'epoch_3.pth')
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_3.pth'))
    check_work_dir(cfg)  # now there is one
    fresh = build_config(DEMO, work_dir=str(tmp_path))
    warnings = warnings_of(caplog, lambda: check_work_dir(fresh))
    assert len(warnings) == 1 and 'THIS FRESH RUN GOES INTO THE WORK DIR OF AN EARLIER RUN' in warnings[0]


def image_folder(root, ann_file: str = '') -> list:
    dataset = DATASETS.build(
        dict(type='ImageFolder', data_root=str(root), ann_file=ann_file, data_prefix=dict(img_path='train/'),
             pipeline=[]))
    return [osp.relpath(dataset.get_data_info(i)['img_path'], root / 'train') for i in range(len(dataset))]


def test_broken_links_and_image_list_problems_are_named(tmp_path):
    (tmp_path / 'train' / 'n01').mkdir(parents=True)
    good = osp.join(REPO, 'data', 'coco_mini', 'train', '000000000071.jpg')
    os.symlink(good, tmp_path / 'train' / 'n01' / 'my image.jpg')
    os.symlink(tmp_path / 'gone.jpg', tmp_path / 'train' / 'n01' / 'dangling.jpg')
    with pytest.raises(
            FileNotFoundError, match=f'1 broken symbolic links in the image folder {tmp_path}/train/: '
            f'{tmp_path}/train/n01/dangling.jpg -> {tmp_path}/gone.jpg'):
        image_folder(tmp_path)
    # a list with a byte-order mark, a path with a space, labels or none
    (tmp_path / 'train.txt').write_text('\ufeffn01/my image.jpg 0\nn01/my image.jpg\n', encoding='utf-8')
    assert image_folder(tmp_path, 'train.txt') == ['n01/my image.jpg'] * 2
    with pytest.raises(IsADirectoryError, match=f'ann_file {tmp_path}/train is a directory, not an image list'):
        image_folder(tmp_path, 'train')
