"""tools/train.py end to end on the shipped images: train, checkpoint, resume with the queue restored."""
import json
import math
import os.path as osp
import subprocess
import sys

import pytest
import torch

import mmpcd  # noqa: F401  (mmengine checkpoints load with weights_only=True)

from conftest import REPO

SMALL = [
    'train_dataloader.batch_size=4',
    'train_dataloader.num_workers=0',
    'train_dataloader.dataset.pipeline.1.transforms.0.0.size=64',
    'train_dataloader.dataset.pipeline.1.transforms.1.0.size=64',
    'model.head.queue_len=128',
    'default_hooks.checkpoint.interval=1',
]


def train(work_dir, *options, resume=False):
    cmd = [
        sys.executable, 'tools/train.py', 'configs/pcd_r18_demo.py', '--work-dir',
        str(work_dir), '--cfg-options', *SMALL, *options
    ]
    if resume:
        cmd.append('--resume')
    out = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-5000:]
    return out.stdout + out.stderr


@pytest.mark.slow
def test_demo_trains_checkpoints_and_resumes(tmp_path):
    log = train(tmp_path, 'train_cfg.max_epochs=2')
    assert 'efficientnet_lite0 layout' in log and 'RANDOM' not in log  # the real, pretrained teacher
    first = torch.load(tmp_path / 'epoch_2.pth', weights_only=True)
    assert first['meta']['epoch'] == 2 and first['meta']['iter'] == 12  # 24 images / 4 = 6 iterations an epoch
    state = first['state_dict']
    assert int(state['head.queue_ptr']) == 12 * 2 * 4 % 128

    log = train(tmp_path, 'train_cfg.max_epochs=3', resume=True)
    assert 'resumed epoch: 2, iter: 12' in log
    second = torch.load(tmp_path / 'epoch_3.pth', weights_only=True)['state_dict']
    ptr, new_ptr = int(state['head.queue_ptr']), int(second['head.queue_ptr'])
    assert new_ptr == (ptr + 6 * 2 * 4) % 128
    # the entries written before the checkpoint and not overwritten since come from the checkpoint
    kept = [i for i in range(128) if not (ptr <= i < ptr + 48 or i < ptr + 48 - 128)]
    assert torch.equal(second['head.queue'][:, kept], state['head.queue'][:, kept])
    for key in ('teacher.backbone.model.bn2.running_mean', 'teacher.neck.layers.0.weight'):
        assert torch.equal(second[key], state[key])
    assert not torch.equal(second['backbone.layer4.1.conv2.weight'], state['backbone.layer4.1.conv2.weight'])


def final_state(work_dir, epoch):
    return torch.load(osp.join(work_dir, f'epoch_{epoch}.pth'), weights_only=True)['state_dict']


def assert_same_state(a, b):
    assert a.keys() == b.keys()
    for k, v in a.items():
        assert torch.equal(v, b[k]), k


@pytest.mark.slow
def test_resume_is_exact_in_every_worker_setting(tmp_path):
    """An uninterrupted 2-epoch run and a run stopped after epoch 1 and resumed end bit for bit the same.

    Each run loads the data another way (2 workers; no worker; 2 persistent workers), the batches of 5 leave
    a short last batch each epoch (24 images, drop_last=False, a queue of 128), and the resumed run's config
    has another seed (the demo's 0): it takes the interrupted run's, 7.
    """
    short = ['train_dataloader.batch_size=5', 'train_dataloader.drop_last=False']
    train(tmp_path / 'whole', 'train_cfg.max_epochs=2', 'randomness.seed=7', *short, 'train_dataloader.num_workers=2',
          'train_dataloader.persistent_workers=False')
    train(tmp_path / 'cut', 'train_cfg.max_epochs=1', 'randomness.seed=7', *short)
    log = train(tmp_path / 'cut', 'train_cfg.max_epochs=2', *short, 'train_dataloader.num_workers=2',
                'train_dataloader.persistent_workers=True', resume=True)
    assert 'resumed epoch: 1, iter: 5' in log and 'replaced by the seed of the resumed run (7' in log
    whole, resumed = final_state(tmp_path / 'whole', 2), final_state(tmp_path / 'cut', 2)
    assert int(whole['head.queue_ptr']) == 2 * 24 * 2 % 128  # epochs x images x views: every key enqueued
    assert_same_state(whole, resumed)


@pytest.mark.slow
def test_resume_from_another_config_fails_before_any_step(tmp_path):
    train(tmp_path, 'train_cfg.max_epochs=1')
    out = run_train('--work-dir', str(tmp_path), '--resume', '--cfg-options', *SMALL, 'train_cfg.max_epochs=2',
                    'model.head.queue_len=256')
    assert out.returncode != 0
    assert 'does not match this model' in out.stderr and 'head.queue: checkpoint (1000, 128), model (1000, 256)' \
        in out.stderr
    assert 'Epoch(train)' not in out.stdout + out.stderr and not (tmp_path / 'epoch_2.pth').exists()


@pytest.mark.slow
def test_extracted_backbone_loads_as_pretrained(tmp_path):
    train(tmp_path, 'train_cfg.max_epochs=1')
    out = tmp_path / 'backbone.pth'
    subprocess.run(
        [sys.executable, 'tools/model_converters/export_student.py',
         str(tmp_path / 'epoch_1.pth'),
         str(out)], cwd=REPO, check=True)
    from mmengine.runner.checkpoint import _load_checkpoint

    from mmselfsup.models.backbones import ResNet
    backbone = ResNet(depth=18, out_indices=[4], init_cfg=dict(type='Pretrained', checkpoint=str(out)))
    backbone.init_weights()
    trained = torch.load(tmp_path / 'epoch_1.pth', weights_only=True)['state_dict']
    assert torch.equal(backbone.state_dict()['layer2.0.conv1.weight'], trained['backbone.layer2.0.conv1.weight'])
    assert set(_load_checkpoint(str(out))['state_dict']) == set(backbone.state_dict())


def run_train(*args):
    cmd = [sys.executable, 'tools/train.py', 'configs/pcd_r18_demo.py', *args]
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=900)


def test_empty_or_missing_data_is_a_clear_error(tmp_path):
    (tmp_path / 'empty').mkdir()
    (tmp_path / 'empty' / 'notes.txt').write_text('not an image')
    out = run_train('--work-dir', str(tmp_path / 'w'), '--cfg-options',
                    f'train_dataloader.dataset.data_root={tmp_path}',
                    'train_dataloader.dataset.data_prefix.img_path=empty')
    assert out.returncode != 0 and f'no images in the folder {tmp_path}/empty' in out.stderr
    out = run_train('--work-dir', str(tmp_path / 'w'), '--cfg-options',
                    f'train_dataloader.dataset.data_root={tmp_path}')
    assert out.returncode != 0 and f'image folder {tmp_path}/train/ does not exist' in out.stderr


def test_corrupt_image_is_named(tmp_path):
    (tmp_path / 'train').mkdir()
    (tmp_path / 'train' / 'broken.jpg').write_bytes(b'\xff\xd8 this is not a jpeg')
    out = run_train('--work-dir', str(tmp_path / 'w'), '--cfg-options',
                    f'train_dataloader.dataset.data_root={tmp_path}', 'train_dataloader.batch_size=1',
                    'train_dataloader.num_workers=0', 'model.head.queue_len=4')
    assert out.returncode != 0 and 'broken.jpg' in out.stderr


def test_random_teacher_tool_writes_a_loadable_marked_checkpoint(tmp_path):
    out = tmp_path / 'random.pth.tar'
    subprocess.run([sys.executable, 'tools/misc/make_random_teacher.py', str(out)], cwd=REPO, check=True)
    load = ('from mmpcd.models.teachers import load_teacher_checkpoint\n'
            f'backbone, head = load_teacher_checkpoint({str(out)!r}, "mocov3")\n'
            'print(len(backbone), sorted(head))')
    result = subprocess.run([sys.executable, '-c', load], cwd=REPO, capture_output=True, text=True, check=True)
    assert "318 ['0.weight', '1.bias', '1.num_batches_tracked', '1.running_mean', '1.running_var', '1.weight', " \
        "'3.weight', '4.num_batches_tracked', '4.running_mean', '4.running_var']" in result.stdout
    assert 'THE TEACHER IS RANDOM' in result.stdout + result.stderr


@pytest.mark.slow
def test_demo_loss_falls_below_chance(tmp_path):
    """The demo's first 20 epochs (of 60, same config and schedule): the loss leaves chance, log(K+1)."""
    cmd = [
        sys.executable, 'tools/train.py', 'configs/pcd_r18_demo.py', '--work-dir',
        str(tmp_path), '--cfg-options', 'train_cfg.max_epochs=20'
    ]
    out = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-5000:]
    curve = json.loads((tmp_path / 'loss_curve.json').read_text())
    chance = math.log(256 + 1)
    assert curve['num_negatives'] == 256 and curve['chance'] == pytest.approx(chance)
    assert len(curve['losses']) == 20 * 3  # 24 images / 8: every iteration recorded
    means = list(curve['epoch_means'].values())
    assert means[0] > chance - 0.1  # it starts at chance
    assert max(means[-3:]) < chance - 0.2, means  # and leaves it
    assert f'epoch 20 {means[-1]:.3f}; chance log(K+1) = log(257) = {chance:.3f}' in out.stdout + out.stderr
    assert (tmp_path / 'loss_curve.png').stat().st_size > 10_000
