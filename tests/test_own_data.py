"""The own-folder config (docs/own_data.md) reads every image of a nested folder of mixed formats and trains on it."""
import os.path as osp
import subprocess
import sys

import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from PIL import Image

from mmselfsup.registry import DATASETS

from conftest import REPO

CONFIG = 'configs/pcd/pcd_resnet18-effnetlite0_1xb32-lars-100e_own-folder.py'
#: Images of several sizes and formats in nested folders; the text file is not an image and is skipped.
IMAGES = ['a.jpg', 'b.PNG', 'trip/c.jpeg', 'trip/day2/d.png', 'trip/day2/e.jpg', 'scans/f.png']


def image_folder(root) -> None:
    rng = np.random.default_rng(0)
    for i, name in enumerate(IMAGES):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        pixels = rng.integers(0, 256, (40 + 8 * i, 56 - 4 * i, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(path, format='JPEG' if path.suffix.lower() in ('.jpg', '.jpeg') else 'PNG')
    (root / 'trip' / 'notes.txt').write_text('not an image')


def test_own_folder_config_lists_every_nested_image(tmp_path):
    image_folder(tmp_path)
    cfg = Config.fromfile(osp.join(REPO, CONFIG)).train_dataloader.dataset
    cfg.data_root = str(tmp_path)
    with DefaultScope.overwrite_default_scope('mmselfsup'):
        dataset = DATASETS.build(cfg)
    assert sorted(osp.relpath(dataset.get_data_info(i)['img_path'], tmp_path)
                  for i in range(len(dataset))) == sorted(IMAGES)


def test_own_folder_config_trains(tmp_path):
    image_folder(tmp_path / 'images')
    small = [
        f'train_dataloader.dataset.data_root={tmp_path / "images"}', 'train_dataloader.batch_size=3',
        'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
        'train_dataloader.dataset.pipeline.1.transforms.0.0.size=64',
        'train_dataloader.dataset.pipeline.1.transforms.1.0.size=64', 'model.head.queue_len=12',
        'train_cfg.max_epochs=1', 'default_hooks.logger.interval=1'
    ]
    work_dir = tmp_path / 'work'
    run = subprocess.run(
        [sys.executable, 'tools/train.py', CONFIG, '--work-dir',
         str(work_dir), '--cfg-options', *small], cwd=REPO, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert 'Epoch(train) [1][2/2]' in run.stdout + run.stderr  # 6 images, batches of 3
    checkpoint = torch.load(work_dir / 'epoch_1.pth', weights_only=True)
    assert checkpoint['meta']['iter'] == 2
