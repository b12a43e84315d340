"""Free loopback ports, and servers started on them, for the tests that need a live one."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running(cmd: list[str], ready_url: str, seconds: float = 60, **popen) -> Iterator[None]:
    """Start ``cmd``, wait until ``ready_url`` answers, and stop it (terminate, then wait)
    however the block ends. A server that exits first fails with the end of its stderr,
    when ``stderr=subprocess.PIPE`` was given."""
    proc = subprocess.Popen(cmd, **popen)
    try:
        deadline = time.monotonic() + seconds
        while True:
            try:
                urllib.request.urlopen(ready_url, timeout=2).read()
                break
            except OSError:
                if proc.poll() is not None:
                    said = (
                        proc.stderr.read().decode(errors="replace")[-3000:] if proc.stderr else ""
                    )
                    raise AssertionError(
                        f"{cmd[0]} stopped (exit {proc.returncode}): {said}"
                    ) from None
                assert time.monotonic() < deadline, (
                    f"no answer from {ready_url} within {seconds:.0f} s"
                )
                time.sleep(0.2)
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=30)
