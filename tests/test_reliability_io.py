"""Files the project reads and writes: bad images are named, writes are atomic, risky configs warned about."""
import os
import stat

import pytest

from mmpcd.fileio import atomic_write
from mmpcd.visualization import plot_loss_curves


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
