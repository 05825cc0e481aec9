"""The stack fixes of mmpcd/compat.py keep torch.load's weights_only protection on."""
import pickle

import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub

import mmpcd  # noqa: F401


def test_message_hub_round_trips_with_weights_only(tmp_path):
    hub = MessageHub.get_instance('compat-test')
    for value in (1.0, 2.0, 4.0):
        hub.update_scalar('train/loss', value)
    path = tmp_path / 'hub.pth'
    torch.save({'message_hub': hub.state_dict()}, path)
    assert 'getattr' not in str(torch.serialization.get_unsafe_globals_in_checkpoint(str(path)))
    buffer = torch.load(path, weights_only=True)['message_hub']['log_scalars']['train/loss']
    assert isinstance(buffer, HistoryBuffer) and buffer.mean() == pytest.approx(7 / 3)


def test_numpy_arrays_and_scalars_load_with_weights_only(tmp_path):
    """mmdet / mmseg runs keep numpy arrays in their checkpoints' message hub."""
    import numpy as np
    path = tmp_path / 'arrays.pth'
    torch.save({'array': np.arange(6).reshape(2, 3), 'scalar': np.float64(0.5), 'int': np.int64(3)}, path)
    loaded = torch.load(path, weights_only=True)
    assert (loaded['array'] == np.arange(6).reshape(2, 3)).all() and loaded['scalar'] == 0.5 and loaded['int'] == 3


def test_getattr_payloads_are_still_refused(tmp_path):

    class Payload:

        def __reduce__(self):
            return getattr, (HistoryBuffer, 'mean')

    path = tmp_path / 'payload.pth'
    torch.save({'x': Payload()}, path)
    with pytest.raises(pickle.UnpicklingError, match='getattr'):
        torch.load(path, weights_only=True)
