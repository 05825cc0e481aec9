"""The README's test command runs the suite in parallel workers (``pytest -n auto --dist loadgroup``): the tests that
read the shared quick run must land on one worker, so that it is trained once, and start first (tests/README.md)."""
import re
import subprocess
import sys
from pathlib import Path

from conftest import TESTS

CONFTEST = f'''
import importlib.util
import pytest

spec = importlib.util.spec_from_file_location('suite_conftest', {str(Path(TESTS) / 'conftest.py')!r})
suite = importlib.util.module_from_spec(spec)
spec.loader.exec_module(suite)
pytest_collection_modifyitems = suite.pytest_collection_modifyitems


@pytest.fixture(scope='session')
def quick_dense_pcd():
    return None
'''
TESTS_A = '''
import pytest

def test_plain_a():
    pass

def test_reads_the_run_a(quick_dense_pcd):
    pass

@pytest.mark.slow
def test_slow():
    pass
'''
TESTS_B = '''
def test_plain_b():
    pass

def test_reads_the_run_b(quick_dense_pcd):
    pass
'''


def test_the_shared_runs_readers_are_one_group_scheduled_first(tmp_path):
    """Two workers over a copy of the suite's collection hook: both readers of ``quick_dense_pcd`` carry its
    ``xdist_group`` (xdist suffixes their ids with ``@quick_dense_pcd``; under pytest 9 it did not, and each worker
    trained the run), run on one worker, and come first, then the ``slow`` test, then the rest."""
    for name, text in (('conftest.py', CONFTEST), ('test_a.py', TESTS_A), ('test_b.py', TESTS_B)):
        (tmp_path / name).write_text(text)

    def pytest(*args: str) -> str:
        out = subprocess.run([sys.executable, '-m', 'pytest', *args, '-p', 'no:cacheprovider'], cwd=tmp_path,
                             capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
        return out.stdout

    order = [line.split('::')[1] for line in pytest('--collect-only', '-q').splitlines() if '::' in line]
    assert order == ['test_reads_the_run_a', 'test_reads_the_run_b', 'test_slow', 'test_plain_a', 'test_plain_b']
    out = pytest('-n', '2', '--dist', 'loadgroup', '-v')
    ran = re.findall(r'\[(gw\d)\] \[ *\d+%\] PASSED (\S+)', out)
    assert len(ran) == 5, out
    workers = {test.split('::')[1]: worker for worker, test in ran}
    assert {test
            for _, test in ran if test.endswith('@quick_dense_pcd')
            } == {'test_a.py::test_reads_the_run_a@quick_dense_pcd',
                  'test_b.py::test_reads_the_run_b@quick_dense_pcd'}, ran
    assert workers['test_reads_the_run_a@quick_dense_pcd'] == workers['test_reads_the_run_b@quick_dense_pcd'], ran
