"""Docker for the container tests: each image is built once per test run, and every
container the tests start is removed, whatever the outcome.

- ``Images.build(context, name=...)`` builds once per (context, Dockerfile, build args)
  and hands the same image to every test file that asks again; a failed build fails
  every later request at once with the same message instead of building again.
- ``Images.run(image, ...)`` is a context manager: it starts a container on a free
  127.0.0.1 port (published with ``-p``, or on the host network with the port passed in
  the environment), waits until ``ready`` answers, and removes the container on the way
  out; a container that exits or never answers fails the test with its log.
- ``Images.run_once(image, ...)`` is ``docker run --rm`` for one command;
  ``Images.try_build(context)`` a one-off build whose outcome is the test.

Tags and container names carry a per-run id, so two test runs on one engine never use
each other's images; every container carries the label ``zoomcamp-pytest=<run id>``, and
``Images.close()`` (the session fixture's teardown) removes whatever is left, then the
run's tags. Builds use ``--force-rm``: a failing build leaves no stopped container.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from ports import free_port

RUN_ID = uuid.uuid4().hex[:8]
LABEL = "zoomcamp-pytest"
LOG_TAIL = 4000  # characters of a container's log in a failure message

# A readiness check: called with the container's base URL, it returns what the tests may
# want (the /health JSON) or raises OSError while the service is not answering yet.
Ready = Callable[[str], object]


def http_json(path: str) -> Ready:
    """Ready when GET ``path`` answers 2xx; the parsed JSON body is kept."""

    def ready(url: str) -> object:
        with urllib.request.urlopen(url + path, timeout=2) as resp:
            return json.loads(resp.read())

    return ready


def http_any(path: str = "/") -> Ready:
    """Ready when anything answers HTTP at ``path``, error statuses included (the Lambda
    emulator has no health route; through ``-p`` the engine's proxy accepts connections
    before the process inside listens, so a bare TCP connect proves nothing)."""

    def ready(url: str) -> object:
        try:
            with urllib.request.urlopen(url + path, timeout=2) as resp:
                return resp.status
        except urllib.error.HTTPError as err:
            return err.code

    return ready


@dataclass(frozen=True)
class Image:
    tag: str
    id: str
    context: Path


@dataclass
class Container:
    docker: str
    name: str
    image: Image
    port: int  # the host port on 127.0.0.1
    ready: object = None  # what the readiness check returned

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def logs(self) -> str:
        proc = subprocess.run(
            [self.docker, "logs", self.name], capture_output=True, text=True, timeout=60
        )
        return (proc.stdout + proc.stderr)[-LOG_TAIL:]

    def state(self) -> tuple[bool, str]:
        """(running, a few words on its state)"""
        proc = subprocess.run(
            [self.docker, "inspect", "-f", "{{.State.Running}} {{.State.ExitCode}}", self.name],
            capture_output=True,
            text=True,
            timeout=60,
        )
        running, _, code = proc.stdout.strip().partition(" ")
        return running == "true", f"exit code {code}" if code else proc.stderr.strip()

    def exec(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run(
            [self.docker, "exec", self.name, *args], capture_output=True, text=True, timeout=timeout
        )


@dataclass
class Images:
    docker: str
    _built: dict[tuple, Image | str] = field(default_factory=dict)
    live: dict[str, Container] = field(default_factory=dict)  # for failure reports

    def build(
        self,
        context: Path,
        *,
        name: str,
        dockerfile: str = "Dockerfile",
        build_args: dict[str, str] | None = None,
        timeout: float = 1200,
    ) -> Image:
        context = Path(context).resolve()
        args = sorted((build_args or {}).items())
        key = (context, dockerfile, tuple(args))
        if key not in self._built:
            self._built[key] = self._build(context, name, dockerfile, args, timeout)
        built = self._built[key]
        if isinstance(built, str):
            pytest.fail(built, pytrace=False)
        return built

    def _build(self, context, name, dockerfile, args, timeout) -> Image | str:
        tag = f"{LABEL}/{name}-{RUN_ID}:pytest"  # sam derives its emulator image from the repo
        cmd = [self.docker, "build", "--network", "host", "--force-rm", "-q", "-t", tag]
        cmd += ["-f", str(context / dockerfile)]
        for key, value in args:
            cmd += ["--build-arg", f"{key}={value}"]
        started = time.monotonic()
        proc = subprocess.run([*cmd, str(context)], capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            return (
                f"docker build of {name} ({context}, {dockerfile}) failed with exit code "
                f"{proc.returncode}:\n{(proc.stdout + proc.stderr)[-LOG_TAIL:]}"
            )
        print(f"built {tag} in {time.monotonic() - started:.1f} s")
        return Image(tag, proc.stdout.strip().splitlines()[-1], context)

    def try_build(
        self, context: Path, *, build_args: dict[str, str] | None = None, timeout: float = 600
    ) -> subprocess.CompletedProcess:
        """A one-off build whose outcome is what the test checks (never cached); the image,
        should it build, is removed."""
        tag = f"{LABEL}/try-{RUN_ID}:{uuid.uuid4().hex[:8]}"
        cmd = [self.docker, "build", "--network", "host", "--force-rm", "-t", tag]
        for key, value in (build_args or {}).items():
            cmd += ["--build-arg", f"{key}={value}"]
        try:
            return subprocess.run(
                [*cmd, str(context)], capture_output=True, text=True, timeout=timeout
            )
        finally:
            subprocess.run(
                [self.docker, "image", "rm", "-f", tag], capture_output=True, timeout=120
            )

    @contextlib.contextmanager
    def run(
        self,
        image: Image,
        *,
        publish: int | None = None,
        port_env: Callable[[int], dict[str, str]] | None = None,
        flags: list[str] | tuple[str, ...] = (),
        ready: Ready | None = None,
        timeout: float = 90,
    ) -> Iterator[Container]:
        """A running container of ``image``: with ``publish`` (the container's port) it is
        published on a free 127.0.0.1 port; otherwise it runs on the host network and
        ``port_env(port)`` tells it which free port to listen on. ``ready`` defaults to
        any HTTP answer at ``/``."""
        if (publish is None) == (port_env is None):
            raise ValueError("give either publish or port_env")
        port = free_port()
        name = f"{LABEL}-{RUN_ID}-{uuid.uuid4().hex[:6]}"
        cmd = [self.docker, "run", "-d", "--name", name, "--label", f"{LABEL}={RUN_ID}"]
        if publish is not None:
            cmd += ["-p", f"127.0.0.1:{port}:{publish}"]
        else:
            cmd += ["--network", "host"]
            for key, value in port_env(port).items():  # type: ignore[misc]
                cmd += ["-e", f"{key}={value}"]
        container = Container(self.docker, name, image, port)
        try:
            proc = subprocess.run(
                [*cmd, *flags, image.tag], capture_output=True, text=True, timeout=120
            )
            if proc.returncode != 0:
                pytest.fail(f"docker run of {image.tag} failed:\n{proc.stderr}", pytrace=False)
            self.live[name] = container
            container.ready = self._wait(container, ready or http_any(), timeout)
            yield container
        finally:
            self.live.pop(name, None)
            subprocess.run([self.docker, "rm", "-f", name], capture_output=True, timeout=120)

    @staticmethod
    def _wait(container: Container, ready: Ready, timeout: float) -> object:
        deadline = time.monotonic() + timeout
        while True:
            try:
                return ready(container.url)
            except OSError as err:
                running, state = container.state()
                if not running:
                    pytest.fail(
                        f"container {container.name} ({container.image.tag}) stopped "
                        f"({state}) before it answered:\n{container.logs()}",
                        pytrace=False,
                    )
                if time.monotonic() > deadline:
                    pytest.fail(
                        f"container {container.name} ({container.image.tag}) did not answer "
                        f"at {container.url} within {timeout:.0f} s ({err}):\n{container.logs()}",
                        pytrace=False,
                    )
                time.sleep(0.3)

    def run_once(
        self, image: Image, *args: str, flags: tuple[str, ...] = (), timeout: float = 120
    ) -> subprocess.CompletedProcess:
        """``docker run --rm`` of one command (on the host network: it needs no port)."""
        return subprocess.run(
            [self.docker, "run", "--rm", "--label", f"{LABEL}={RUN_ID}", "--network", "host"]
            + [*flags, image.tag, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def close(self) -> None:
        """Remove this run's containers (any a killed test left) and tags; the layers stay
        in the engine's cache for the next run."""
        left = subprocess.run(
            [self.docker, "ps", "-aq", "--filter", f"label={LABEL}={RUN_ID}"],
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout.split()
        if left:
            subprocess.run([self.docker, "rm", "-f", *left], capture_output=True, timeout=120)
        tags = subprocess.run(
            [self.docker, "images", "--format", "{{.Repository}}:{{.Tag}}"],
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout.split()
        mine = [t for t in tags if t.startswith(f"{LABEL}/") and f"-{RUN_ID}:" in t]
        if mine:  # the run's images and the emulator images sam derived from them
            subprocess.run(
                [self.docker, "image", "rm", "--no-prune", *mine], capture_output=True, timeout=300
            )
