"""09-serverless: the address policy (SSRF) of the hair Lambda, checked without connecting.

The checker ``address_policy.refusal`` (the table ``fetch.py`` applies) is called directly on
every case of ``lambda_policy_cases`` (IANA's special-purpose blocks, their edges, every IPv6
form embedding IPv4). The same table runs under Python 3.13: a local 3.13 found by uv, and
the Lambda base image's.
"""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import subprocess
from pathlib import Path

import lambda_policy_cases as table
import pytest
from lambda_events import answer, fx

from zoomcamp import paths

policy = fx.address_policy  # the table fetch.py applies
MODULE = paths.module_dir("09-serverless")
CASES = Path(table.__file__)


@pytest.fixture(autouse=True)
def no_connections(monkeypatch):
    """Even a policy regression must not make these tests connect anywhere."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"the policy let a connection through: {args}")

    monkeypatch.setattr(fx.socket, "create_connection", refuse)
    monkeypatch.delenv("ALLOW_PRIVATE_URLS", raising=False)


@pytest.mark.parametrize("what, ip, refused", table.cases(), ids=lambda v: str(v))
def test_policy_table(what, ip, refused):
    assert (policy.refusal(ip) is not None) == refused, (what, ip, policy.refusal(ip))


def test_every_block_of_fetch_table_is_in_the_test_table():
    # address_policy.py's table may be coarser, never looser: each row holds refused cases
    ours = [ipaddress.ip_address(ip) for _, ip, refused in table.cases() if refused]
    for block, _ in policy.V4_REFUSED + policy.V6_REFUSED:
        assert any(ip in ipaddress.ip_network(block) for ip in ours), block


def test_refusal_names_the_embedded_address():
    assert "NAT64 form of 169.254.169.254" in policy.refusal("64:ff9b::a9fe:a9fe")
    assert "6to4 form of 10.0.0.1" in policy.refusal("2002:a00:1::1")
    assert "site-local" in policy.refusal("fec0::1")
    # Teredo is refused whole, even with public server and client addresses (issue 18)
    assert "Teredo" in policy.refusal("2001:0:4136:e378:8000:63bf:3ffe:fdd2")
    with pytest.raises(fx.BadInput, match="non-public address 100.64.0.1"):
        fx.check_address("100.64.0.1")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/a.jpg",
        "http://localhost:9/a.jpg",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/a.jpg",
        "http://192.168.1.1/a.jpg",
        "http://[::1]:9/a.jpg",
        "http://0.0.0.0:9/a.jpg",
        "http://[::ffff:127.0.0.1]:9/a.jpg",
        "http://[64:ff9b::a9fe:a9fe]/latest/meta-data/",  # NAT64 of the metadata address
        "http://[::a9fe:a9fe]/",  # IPv4-compatible
        "http://[2002:a9fe:a9fe::1]/",  # 6to4
        "http://[2001:0:4136:e378:8000:63bf:3ffe:fdd2]/a.jpg",  # Teredo, public IPv4s inside
        "http://[fec0::1]/a.jpg",
        "http://100.64.0.1/a.jpg",
        "http://192.0.0.9/a.jpg",  # IETF special purpose: global on 3.11's ipaddress
        "http://198.18.0.1/a.jpg",
        "http://224.0.0.1/a.jpg",
        "http://2130706433/a.jpg",  # 127.0.0.1 as one number: judged after resolving
    ],
)
def test_private_addresses_are_refused_by_default(url):
    result = answer({"url": url})
    assert result["statusCode"] == 400 and "non-public address" in result["error"], result


def _python313() -> str | None:
    """A Python 3.13 already on this machine: uv's choice, else a pyenv installation."""
    uv = shutil.which("uv")
    if uv:
        found = subprocess.run(
            [uv, "python", "find", "--no-python-downloads", "3.13"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        if found.returncode == 0 and found.stdout.strip():
            return found.stdout.strip()
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    return next((str(p) for p in sorted(pyenv.glob("versions/3.13*/bin/python3"))), None)


def _check(cmd: list[str]) -> dict:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.stdout.strip(), proc.stderr[-2000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["checked"] == len(table.cases())
    assert report["wrong"] == [], report["wrong"][:20]
    assert proc.returncode == 0
    return report


def test_same_verdicts_on_a_local_python_3_13():
    python = _python313()
    if python is None:
        pytest.skip("no Python 3.13 here (uv python find 3.13)")
    report = _check([python, "-I", str(CASES), str(MODULE)])
    assert report["python"].startswith("3.13")


@pytest.mark.docker
def test_same_verdicts_in_the_lambda_base_image(docker):
    # the image of the function's final stage; address_policy.py needs only the stdlib
    image = "public.ecr.aws/lambda/python:3.13"
    report = _check(
        [
            docker,
            "run",
            "--rm",
            "--network",
            "none",
            "-v",
            f"{MODULE / 'address_policy.py'}:/w/address_policy.py:ro",
            "-v",
            f"{CASES}:/w/cases.py:ro",
            "--entrypoint",
            "python3",
            image,
            "-I",
            "/w/cases.py",
            "/w",
        ]
    )
    assert report["python"].startswith("3.13")


@pytest.mark.filterwarnings("ignore:A test tried to use socket")
def test_the_suite_cannot_connect_to_other_hosts():
    # pytest-socket (pyproject addopts): only loopback; a policy bug fails instead of connecting
    from pytest_socket import SocketConnectBlockedError

    sock = fx.socket.socket()
    try:
        with pytest.raises(SocketConnectBlockedError):
            sock.connect(("192.0.2.1", 80))
    finally:
        sock.close()
