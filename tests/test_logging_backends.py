"""TensorBoard through mmengine's visualisation backends (docs/logging.md): a short run of tools/train.py writes
the loss of every iteration to an event file."""
import json
import os.path as osp
import subprocess
import sys

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from conftest import REPO

#: The demo, tiny: 8 of its images in batches of 4 (2 iterations), 64 px crops, logged every iteration.
TINY = [
    'train_dataloader.batch_size=4', 'train_dataloader.num_workers=0',
    'train_dataloader.dataset.pipeline.1.transforms.0.0.size=64',
    'train_dataloader.dataset.pipeline.1.transforms.1.0.size=64', 'model.head.queue_len=128', 'train_cfg.max_epochs=1',
    'default_hooks.logger.interval=1'
]


def test_tensorboard_event_file_holds_the_loss(tmp_path):
    config = tmp_path / 'pcd_r18_demo_tensorboard.py'
    config.write_text(f"_base_ = '{osp.join(REPO, 'configs', 'pcd_r18_demo.py')}'\n"
                      "visualizer = dict(vis_backends=[dict(type='LocalVisBackend'), "
                      "dict(type='TensorboardVisBackend')])\n"
                      'train_dataloader = dict(dataset=dict(indices=8))\n')
    work_dir = tmp_path / 'work'
    run = subprocess.run(
        [sys.executable, 'tools/train.py',
         str(config), '--work-dir',
         str(work_dir), '--cfg-options', *TINY], cwd=REPO, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    (vis_data, ) = work_dir.glob('*/vis_data')
    (event_file, ) = vis_data.glob('events.out.tfevents.*')
    events = EventAccumulator(str(event_file))
    events.Reload()
    assert {'loss', 'lr'} <= set(events.Tags()['scalars'])
    logged = [json.loads(line) for line in (vis_data / 'scalars.json').read_text().splitlines()]
    expected = [(entry['step'], entry['loss']) for entry in logged if 'loss' in entry]
    assert [step for step, _ in expected] == [1, 2]
    assert [(e.step, round(e.value, 4)) for e in events.Scalars('loss')] == [(s, round(v, 4)) for s, v in expected]
