"""Two processes on the CPU (gloo): the queue, the student and the lr scaling across ranks."""
import glob
import os.path as osp
import re
import socket
import subprocess
import sys

import pytest
import torch

from mmpcd.apis import build_config, parse_train_args

from conftest import REPO, free_port

BATCH, QUEUE = 2, 48

#: config, its queue's length option, keys enqueued per image and process: PCD and SEED both views' teacher
#: embeddings, DisCo one key (view 2, its momentum encoder's). The CPU benchmark configs, on data/coco_mini's 24 images.
RUNS = {
    'PCD': ('configs/pcd_r18_demo.py', 'model.head.queue_len', 2),
    'SEED': ('configs/seed/cpu/seed_resnet18-effnetlite0_1xb32-lars-15e_cifar10-mini.py', 'model.head.queue_len', 2),
    'DisCo': ('configs/disco/cpu/disco_resnet18-effnetlite0_1xb32-lars-15e_cifar10-mini.py', 'model.queue.queue_len',
              1),
}


@pytest.mark.slow
@pytest.mark.parametrize('algorithm', RUNS)
def test_two_processes_share_queue_and_weights(algorithm, tmp_path):
    config, queue_option, keys_per_image = RUNS[algorithm]
    cmd = [
        sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=2', f'--master_port={free_port()}',
        'tests/dist_train_dump.py', config, '--launcher', 'pytorch', '--work-dir',
        str(tmp_path), '--cfg-options', 'train_dataloader.dataset.data_root=data/coco_mini',
        f'train_dataloader.batch_size={BATCH}', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False', 'train_cfg.max_epochs=1',
        'train_dataloader.dataset.pipeline.1.transforms.0.0.size=64',
        'train_dataloader.dataset.pipeline.1.transforms.1.0.size=64', f'{queue_option}={QUEUE}',
        'auto_scale_lr.enable=True'
    ]  # the demo trains at lr 1.0 unscaled; the paper's recipe scales
    out = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-5000:]
    ranks = [torch.load(tmp_path / f'rank{r}.pth', weights_only=True) for r in (0, 1)]
    assert ranks[0]['world_size'] == 2
    iters = ranks[0]['iters']
    assert iters == 24 // (2 * BATCH)  # the 24 images are split between the ranks
    per_step = 2 * keys_per_image * BATCH  # ranks x keys per image x images
    for rank in ranks:
        assert int(rank['queue_ptr']) == iters * per_step % QUEUE
        # linear scaling by the global batch: 1.0 x (2 processes x BATCH) / 256
        assert rank['initial_lr'] == pytest.approx(1.0 * 2 * BATCH / 256)
    assert torch.equal(ranks[0]['queue'], ranks[1]['queue'])
    assert ranks[0]['params'].keys() == ranks[1]['params'].keys()
    for name, value in ranks[0]['params'].items():  # DisCo's momentum encoder included
        assert torch.equal(value, ranks[1]['params'][name]), name
    # the last step wrote rank 0's keys, then rank 1's, ending at the pointer
    end = int(ranks[0]['queue_ptr']) or QUEUE
    written = ranks[0]['queue'][:, end - per_step:end].t()
    expected = torch.cat([ranks[0]['keys'][-1], ranks[1]['keys'][-1]])
    assert not torch.allclose(ranks[0]['keys'][-1], ranks[1]['keys'][-1])
    torch.testing.assert_close(written, expected)
    torch.testing.assert_close(written.norm(dim=1), torch.ones(per_step))


@pytest.mark.slow
def test_two_process_resume_is_exact(tmp_path):
    """2 processes: 2 epochs uninterrupted (2 persistent workers each) and 1 epoch (no worker) then resumed
    (2 workers each) end bit for bit the same."""

    def train(work_dir, epochs, *options, resume=False):
        cmd = [
            sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=2', f'--master_port={free_port()}',
            'tools/train.py', 'configs/pcd_r18_demo.py', '--launcher', 'pytorch', '--work-dir',
            str(work_dir), *(['--resume'] if resume else []), '--cfg-options', *options,
            'train_dataloader.batch_size=4', f'train_cfg.max_epochs={epochs}',
            'train_dataloader.dataset.pipeline.1.transforms.0.0.size=32',
            'train_dataloader.dataset.pipeline.1.transforms.1.0.size=32', f'model.head.queue_len={QUEUE}'
        ]
        out = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=900)
        assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-5000:]
        return out.stdout + out.stderr

    train(tmp_path / 'whole', 2, 'train_dataloader.num_workers=2', 'train_dataloader.persistent_workers=True')
    train(tmp_path / 'cut', 1, 'train_dataloader.num_workers=0')
    assert 'resumed epoch: 1' in train(tmp_path / 'cut', 2, 'train_dataloader.num_workers=2', resume=True)
    whole, resumed = (torch.load(tmp_path / run / 'epoch_2.pth', weights_only=True)['state_dict']
                      for run in ('whole', 'cut'))
    assert whole.keys() == resumed.keys()
    for k, v in whole.items():
        assert torch.equal(v, resumed[k]), k


def test_train_tool_switches(tmp_path):
    args = parse_train_args([
        osp.join(REPO, 'configs', 'pcd_r18.py'), '--launcher', 'pytorch', '--work-dir',
        str(tmp_path), '--amp', '--sync-bn'
    ])
    cfg = build_config(**vars(args))
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper' and cfg.sync_bn == 'torch'
    if not torch.cuda.is_available():
        assert cfg.env_cfg.dist_cfg.backend == 'gloo' and cfg.model_wrapper_cfg.device_ids is None


def test_no_test_starts_a_distributed_run_on_a_fixed_port():
    """Two test runs sharing a machine must not clash on a master port: every test takes one from free_port()."""
    fixed = re.compile(r'master[_-]port\W{1,3}\d|MASTER_PORT\W{1,5}\d', re.IGNORECASE)
    found = [
        f'{osp.relpath(path, REPO)}:{number}'
        for path in sorted(glob.glob(osp.join(REPO, 'tests', '**', '*.py'), recursive=True))
        for number, line in enumerate(open(path), 1) if fixed.search(line)
    ]
    assert not found, found
    port = free_port()
    with socket.socket() as sock:  # it is free: it can be bound
        sock.bind(('127.0.0.1', port))
