"""TensorFlow's C++ log lines are dropped from stderr; everything else passes, in order."""

from __future__ import annotations

import subprocess
import sys

import pytest

from zoomcamp import native_logs, paths

ONEDNN = (
    b"I0000 00:00:1796229254.805927   31821 port.cc:153] oneDNN custom operations are on. "
    b"You may see slightly different numerical results."
)
GRAPPLER = (
    b"W0000 00:00:1796229300.1   31821 op_level_cost_estimator.cc:699] Error in "
    b'PredictCost() for the op: op: "CropAndResize"'
)


@pytest.mark.parametrize(
    "line",
    [
        ONEDNN,
        GRAPPLER,
        b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
        b"To enable the following instructions: AVX2 FMA, in other operations, rebuild "
        b"TensorFlow with the appropriate compiler flags.",
    ],
)
def test_tensorflow_lines_are_noise(line):
    assert native_logs.is_noise(line)


@pytest.mark.parametrize(
    "line",
    [
        b"Epoch 3/10: val_accuracy 0.71",
        b"Traceback (most recent call last):",
        b"WARNING:root:a Python logging warning",
        b"error: no model at models/hair",
        b"I told you so",
    ],
)
def test_other_lines_pass(line):
    assert not native_logs.is_noise(line)


SCRIPT = r"""
import os, sys, time
from zoomcamp import native_logs
native_logs.filter_stderr()
os.write(2, b"before\n")
os.write(2, LINE1 + b"\n")
sys.stderr.write("\r 50%|#####     |")
sys.stderr.flush()
os.write(2, b"W0000 00:00:17.5   1 cost")  # a log line written in two pieces
time.sleep(0.2)
os.write(2, b"_estimator.cc:1] noise\n")
sys.stderr.write("\r 70%|#######   |")
sys.stderr.flush()
os.write(2, LINE1 + b"\n")  # right after a bar, mid-line, as during training
sys.stderr.write("\r100%|##########|\n")
print("stdout untouched")
raise SystemExit("error: the end")
"""


def test_filter_in_a_real_process():
    proc = subprocess.run(
        [sys.executable, "-c", f"LINE1 = {ONEDNN!r}\n" + SCRIPT],
        cwd=paths.REPO_ROOT,
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert proc.stdout == b"stdout untouched\n"
    assert proc.stderr == (
        b"before\n\r 50%|#####     |\r 70%|#######   |\r100%|##########|\nerror: the end\n"
    )


def test_importing_the_keras_modules_changes_nothing():
    """No import-time side effects: the entry points call filter_stderr themselves."""
    code = (
        "import os\n"
        "before = os.fstat(2)\n"
        "from zoomcamp.hair import model_keras, train_keras\n"
        "from zoomcamp import native_logs\n"
        "after = os.fstat(2)\n"
        "assert not native_logs._started, 'filter started on import'\n"
        "assert (before.st_ino, before.st_dev) == (after.st_ino, after.st_dev), 'fd 2 replaced'\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=paths.REPO_ROOT, capture_output=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
