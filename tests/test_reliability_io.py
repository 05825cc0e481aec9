"""Files the project reads and writes: bad images are named, writes are atomic, risky configs warned about."""
import logging
import os
import os.path as osp
import runpy
import stat
import struct
import sys
import warnings
import zlib

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger

from mmpcd.datasets import BadImageError, CorruptImageWarning
from mmpcd.datasets.image_lists import read_labelled_list
from mmpcd.engine.config_checks import warn_risky_settings
from mmpcd.fileio import atomic_write
from mmpcd.testing import RANDOM_TEACHER_KEY
from mmpcd.visualization import plot_loss_curves
from mmselfsup.registry import DATASETS, TRANSFORMS

from conftest import REPO

GOOD_JPEG = os.path.join(REPO, 'data', 'coco_mini', 'train', '000000000071.jpg')


def bad_image(kind: str) -> bytes:
    good = open(GOOD_JPEG, 'rb').read()
    return {'empty': b'', 'random': np.random.default_rng(0).bytes(4096), 'truncated': good[:len(good) // 2]}[kind]


@pytest.mark.parametrize('backend', ['cv2', 'pillow'])
@pytest.mark.parametrize('kind, reason', [('empty', r'empty file \(0 bytes\)'),
                                          ('random', 'cannot be decoded as an image'),
                                          ('truncated', 'cannot be decoded as an image')])
def test_bad_image_is_named_at_load_time(tmp_path, kind, reason, backend):
    """In the pre-training dataset of configs/_base_/datasets/imagenet_pcd.py (mmcls' ImageNet, an image list)."""
    (tmp_path / 'train' / 'n01').mkdir(parents=True)
    (tmp_path / 'train' / 'n01' / 'good.jpg').write_bytes(open(GOOD_JPEG, 'rb').read())
    (tmp_path / 'train' / 'n01' / 'bad.jpg').write_bytes(bad_image(kind))
    (tmp_path / 'train.txt').write_text('n01/good.jpg 0\nn01/bad.jpg 0\n')
    dataset = DATASETS.build(
        dict(type='mmcls.ImageNet', data_root=str(tmp_path), ann_file='train.txt', data_prefix=dict(img_path='train/'),
             pipeline=[dict(type='LoadImageFromFileChecked', imdecode_backend=backend)]))
    assert dataset[0]['img'].shape == (426, 640, 3)
    bad = str(tmp_path / 'train' / 'n01' / 'bad.jpg')
    with pytest.raises(BadImageError, match=f'bad image file {bad}: {reason}.*Replace it') as info:
        dataset[1]
    assert info.value.__cause__ is not None


def zeroed_middle_jpeg() -> bytes:
    """GOOD_JPEG with its middle third zeroed: libjpeg decodes it with "Corrupt JPEG data: ...", gray and garbled."""
    good = open(GOOD_JPEG, 'rb').read()
    third = len(good) // 3
    return good[:third] + bytes(third) + good[2 * third:]


def huge_png(side: int = 33000) -> bytes:
    """A ``side`` x ``side`` RGB PNG of 57 bytes: its header chunk, an empty data chunk and the end chunk (OpenCV
    checks the declared size before it reads the data)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data))

    return (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', side, side, 8, 2, 0, 0, 0)) +
            chunk(b'IDAT', zlib.compress(b'')) + chunk(b'IEND', b''))


def load(path, **kwargs) -> dict:
    return TRANSFORMS.build(dict(type='LoadImageFromFileChecked', **kwargs))(dict(img_path=str(path)))


def test_corrupt_jpeg_that_decodes_is_named(tmp_path):
    """A JPEG whose middle is zeroed: libjpeg decodes it, printing "Corrupt JPEG data" without a file name, and
    mmcv's loader trained on it silently. Now a CorruptImageWarning names the file and quotes the decoder, the
    image is still returned; with on_corrupt='error' it is a BadImageError. A good file gives no warning."""
    path = tmp_path / 'zeroed.jpg'
    path.write_bytes(zeroed_middle_jpeg())
    with pytest.warns(
            CorruptImageWarning, match=f'image file {path} is corrupt: its decoder reported "Corrupt JPEG '
            'data: .*Replace it with a good copy.*on_corrupt="error"'):
        assert load(path)['img'].shape == (426, 640, 3)
    with pytest.raises(BadImageError, match=f'bad image file {path} is corrupt: .*Corrupt JPEG data'):
        load(path, on_corrupt='error')
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert load(GOOD_JPEG)['img'].shape == (426, 640, 3)
    with pytest.raises(ValueError, match="on_corrupt must be one of \\('warn', 'error'\\), got 'ignore'"):
        load(path, on_corrupt='ignore')


def test_image_over_opencvs_pixel_limit_is_named(tmp_path):
    """A 33000 x 33000 PNG (without its pixels: OpenCV refuses it from the declared size) was called "truncated or
    corrupt"; it is named as over OpenCV's pixel limit, with the variable that raises it."""
    path = tmp_path / 'huge.png'
    path.write_bytes(huge_png())
    with pytest.raises(
            BadImageError, match=f'bad image file {path}: more pixels than OpenCV decodes .*'
            'CV_IO_MAX_IMAGE_PIXELS.*Downscale it, or raise the limit with the environment variable '
            'OPENCV_IO_MAX_IMAGE_PIXELS'):
        load(path)


def test_missing_image_stays_file_not_found(tmp_path):
    dataset = DATASETS.build(
        dict(type='ImageFolder', data_prefix=dict(img_path=str(tmp_path)),
             pipeline=[dict(type='LoadImageFromFileChecked')], lazy_init=True))
    with pytest.raises(FileNotFoundError, match='gone.jpg'):
        dataset.pipeline(dict(img_path=str(tmp_path / 'gone.jpg')))


def test_atomic_write_keeps_the_old_file_on_failure(tmp_path):
    path = tmp_path / 'out.pth'
    path.write_bytes(b'old')
    with pytest.raises(OSError, match='disk full'):
        with atomic_write(str(path)) as f:
            f.write(b'half of the new')
            raise OSError('disk full')
    assert path.read_bytes() == b'old'
    assert os.listdir(tmp_path) == ['out.pth']  # the temporary file is gone
    with atomic_write(str(tmp_path / 'new' / 'out.json'), 'w') as f:
        f.write('{"é": 1}')
    assert (tmp_path / 'new' / 'out.json').read_text(encoding='utf-8') == '{"é": 1}'
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(os.stat(tmp_path / 'new' / 'out.json').st_mode) == 0o666 & ~umask  # as open() would


def test_loss_curves_are_written_atomically_in_the_extension_format(tmp_path):
    plot_loss_curves({'loss': [[5.0, 4.0, 3.0]]}, str(tmp_path / 'curve.pdf'), num_negatives=8)
    plot_loss_curves({'loss': [[5.0, 4.0, 3.0]]}, str(tmp_path / 'curve.png'))
    assert (tmp_path / 'curve.pdf').read_bytes().startswith(b'%PDF')
    assert (tmp_path / 'curve.png').read_bytes().startswith(b'\x89PNG')
    assert sorted(os.listdir(tmp_path)) == ['curve.pdf', 'curve.png']


@pytest.mark.parametrize(
    'checkpoint, warned',
    [
        (dict(type='CheckpointHook', interval=1, max_keep_ckpts=1), True),
        (dict(type='CheckpointHook', interval=1, max_keep_ckpts=2), False),
        (dict(type='CheckpointHook', interval=1, max_keep_ckpts=0), False),  # mmengine: 0 keeps every checkpoint
        (dict(type='CheckpointHook', interval=1), False),
        (None, False),
    ])
def test_keeping_one_checkpoint_is_warned_about(caplog, checkpoint, warned):
    cfg = Config(dict(default_hooks=dict(checkpoint=checkpoint)))
    logger = MMLogger.get_current_instance()  # mmengine's logger does not reach the root logger of caplog
    logger.addHandler(caplog.handler)
    try:
        warnings = warn_risky_settings(cfg)
    finally:
        logger.removeHandler(caplog.handler)
    logged = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert logged == warnings
    assert bool(warnings) == warned
    if warned:
        assert 'max_keep_ckpts=1' in warnings[0] and 'no checkpoint to resume from' in warnings[0]
        assert 'Set max_keep_ckpts=2 or more' in warnings[0]


def make_random_teacher(monkeypatch, *argv: str) -> None:
    """tools/misc/make_random_teacher.py in this process; argparse errors are SystemExit(2)."""
    monkeypatch.setattr(sys, 'argv', ['make_random_teacher.py', *argv])
    runpy.run_path(osp.join(REPO, 'tools', 'misc', 'make_random_teacher.py'), run_name='__main__')


def test_make_random_teacher_never_replaces_a_file_without_force(tmp_path, monkeypatch, capsys):
    """An existing (real) teacher stays byte for byte; --force replaces it; a new path is written."""
    real = tmp_path / 'efficientnet_lite0.pth'
    torch.save({'conv_stem.weight': torch.ones(2)}, real)
    before = real.read_bytes()
    with pytest.raises(SystemExit) as stop:
        make_random_teacher(monkeypatch, str(real), '--format', 'efficientnet_lite0')
    assert stop.value.code == 2 and real.read_bytes() == before
    assert (f'error: the output {real} exists (0.0 MiB); it would be replaced by a teacher with RANDOM weights '
            '(efficientnet_lite0 layout), and what it holds lost: choose another output path, or pass --force to '
            'replace it' in capsys.readouterr().err)
    make_random_teacher(monkeypatch, str(real), '--format', 'efficientnet_lite0', '--force')
    assert RANDOM_TEACHER_KEY in torch.load(real, weights_only=True)
    make_random_teacher(monkeypatch, str(tmp_path / 'new' / 'teacher.pth'), '--format', 'efficientnet_lite0')
    assert RANDOM_TEACHER_KEY in torch.load(tmp_path / 'new' / 'teacher.pth', weights_only=True)


@pytest.mark.parametrize('line', ['../outside.jpg', 'n01/../../outside.jpg', 'ABSOLUTE'])
@pytest.mark.parametrize('reader', ['ImageFolder', 'read_labelled_list'])
def test_an_image_list_cannot_leave_its_root(tmp_path, line, reader):
    """Image lists (``ann_file`` of ImageFolder, the online evaluation's ``meta/*.txt``) name images under their
    root; an absolute path or ``..`` out of it is refused, naming the list, the line and the fix (before: the image
    outside the root was read, silently). A ``..`` that stays inside is fine."""
    root = tmp_path / 'root'
    (root / 'n01').mkdir(parents=True)
    (root / 'n01' / 'in.jpg').write_bytes(open(GOOD_JPEG, 'rb').read())
    (tmp_path / 'outside.jpg').write_bytes(open(GOOD_JPEG, 'rb').read())
    line = line.replace('ABSOLUTE', str(tmp_path / 'outside.jpg'))
    listing = root / 'list.txt'

    def read() -> list:
        if reader == 'ImageFolder':
            dataset = DATASETS.build(
                dict(type='ImageFolder', ann_file=str(listing), data_prefix=dict(img_path=str(root)), pipeline=[]))
            return [dataset.get_data_info(i)['img_path'] for i in range(len(dataset))]
        return read_labelled_list(str(listing), str(root))[0]

    listing.write_text(f'n01/in.jpg 0\nn01/../n01/in.jpg 1\n\n{line} 0\n')
    with pytest.raises(
            ValueError, match=f'{listing}:4: the image {line!r} is outside the image root {root} .*write '
            'the path relative to it, or move the root to a folder that holds every image of the list'):
        read()
    listing.write_text('n01/in.jpg 0\nn01/../n01/in.jpg 1\n')
    assert [osp.realpath(path) for path in read()] == [str(root / 'n01' / 'in.jpg')] * 2
