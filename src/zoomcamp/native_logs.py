"""Keep TensorFlow's C++ log lines out of what users read.

TensorFlow 2.21 logs through absl before anything can configure it: the oneDNN notice, the
CPU-feature notice and grappler's cost-estimator warnings reach file descriptor 2 whatever
``TF_CPP_MIN_LOG_LEVEL`` says. :func:`filter_stderr` puts a pipe in front of descriptor 2
and drops exactly those lines; everything else (progress bars, tracebacks, warnings from
Python) passes through unchanged and in order. Call it before TensorFlow is imported.
"""

from __future__ import annotations

import atexit
import os
import re
import sys
import threading

# absl's prefix "I0000 00:00:1796229254.805927   31821 port.cc:153] ..." and the lines
# TensorFlow prints around it.
NOISE = re.compile(
    rb"^(?:[IWE]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ [\w./-]+:\d+\] "
    rb"|WARNING: All log messages before absl::InitializeLog\(\) is called"
    rb"|To enable the following instructions: .* rebuild TensorFlow with"
    rb")"
)
NOISE_ANYWHERE = re.compile(NOISE.pattern.removeprefix(b"^"))
_started = False


def is_noise(line: bytes) -> bool:
    return bool(NOISE.match(line.lstrip(b"\r")))


_HEADS = (b"WARNING: All log messages before absl::InitializeLog()", b"To enable the following")
_ABSL_HEAD = re.compile(rb"[IWE]\d{0,4}(?: [\d:.]*(?:\s+\d*(?: [\w./-]*(?::\d*)?)?)?)?")


def _could_become_noise(partial: bytes) -> bool:
    """A partial line is held back only while it may still turn out to be a log line."""
    if is_noise(partial) or any(head.startswith(partial) for head in _HEADS):
        return True
    return bool(_ABSL_HEAD.fullmatch(partial))


def _split_partial(pending: bytes) -> tuple[bytes, bytes]:
    """(what can be written now, what must wait): the tail that may still grow into a log
    line waits; a log line can start right after a progress bar, mid-line."""
    for i, byte in enumerate(pending):
        if byte in b"IWET" and _could_become_noise(pending[i:]):
            return pending[:i], pending[i:]
    return pending, b""


def _clean(line: bytes) -> bytes:
    """A complete line without its log part: TensorFlow may log right after a bar."""
    found = NOISE_ANYWHERE.search(line)
    return line + b"\n" if found is None else line[: found.start()]


def _pump(read_fd: int, write_fd: int) -> None:
    pending = b""
    while chunk := os.read(read_fd, 65536):
        pending += chunk
        *lines, pending = pending.split(b"\n")
        now, pending = _split_partial(pending)
        out = b"".join(_clean(line) for line in lines) + now
        if out:
            os.write(write_fd, out)
    if pending:
        os.write(write_fd, _clean(pending).rstrip(b"\n"))


def filter_stderr() -> None:
    """Filter descriptor 2 of this process from now on (idempotent)."""
    global _started
    if _started:
        return
    _started = True
    sys.stderr.flush()
    original = os.dup(2)
    read_fd, write_fd = os.pipe()
    os.dup2(write_fd, 2)
    os.close(write_fd)
    thread = threading.Thread(target=_pump, args=(read_fd, original), daemon=True)
    thread.start()

    def restore() -> None:
        # put the real stderr back and let the pump drain what is still in the pipe
        sys.stderr.flush()
        os.dup2(original, 2)
        thread.join(timeout=5)

    atexit.register(restore)
