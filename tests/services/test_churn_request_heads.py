"""05-deployment: what the request head can carry (issue 18 #2, #10): every form of
``Content-Length`` the service's own reader sees (httptools in the image passes any value
through) gets a short 4xx, never a 500; duplicated headers are refused, not "last one wins";
a trailing slash is not redirected to the Host header's address; NaN is named as such."""

from __future__ import annotations

import asyncio
import json

import pytest
from churn_hostile import EXAMPLE, limits

BODY = json.dumps(EXAMPLE).encode()


def _read(*lengths: bytes, body: bytes = BODY, types=(b"application/json",)) -> tuple[int, bytes]:
    """(status, body read) of ``limits.read_body`` for these Content-Length values."""
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive():
        return messages.pop(0)

    headers = [*((b"content-type", t) for t in types), *((b"content-length", v) for v in lengths)]
    try:
        return 200, asyncio.run(limits.read_body(headers, receive, 1 << 20))
    except limits.Reply as reply:
        return reply.status, reply.encode()


def test_a_plain_length_reads_the_body():
    assert _read(str(len(BODY)).encode()) == (200, BODY)


def test_leading_zeros_are_a_length_not_a_crash():
    # 4,400 digits: int() alone raises ValueError past 4,300 (a 500 before)
    assert _read(b"0" * 4400 + str(len(BODY)).encode()) == (200, BODY)


def test_a_length_of_thousands_of_digits_is_too_large():
    status, out = _read(b"9" * 5000)
    assert status == 413 and len(out) < 200


@pytest.mark.parametrize("value", [b"", b"abc", b"-1", b"1e3", b" 12", "١٢".encode()])
def test_a_malformed_length_is_400(value):
    status, out = _read(value)
    assert status == 400 and b"Content-Length" in out


def test_conflicting_lengths_are_refused_not_last_wins():
    status, out = _read(str(len(BODY)).encode(), b"5")
    assert status == 400 and b"conflicting" in out
    assert _read(str(len(BODY)).encode(), str(len(BODY)).encode())[0] == 200


def test_conflicting_content_types_are_refused_not_last_wins():
    status, out = _read(types=(b"text/plain", b"application/json"))
    assert status == 400 and b"conflicting Content-Type" in out
    assert _read(types=(b"application/json", b"application/json"))[0] == 200


def test_a_trailing_slash_is_not_redirected_to_the_host_header(client):
    answer = client.post(
        "/predict/", json=EXAMPLE, headers={"Host": "evil.example"}, follow_redirects=False
    )
    assert answer.status_code == 404 and "location" not in answer.headers


def test_nan_is_named_not_called_a_fraction(client):
    body = json.dumps({**EXAMPLE, "tenure": float("nan")})  # json writes the NaN token
    answer = client.post("/predict", content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 422
    assert "not NaN or Infinity" in answer.json()["message"]


def test_a_refused_body_dribbled_byte_by_byte_is_not_drained_forever():
    """Issue 18 #10: draining a refused body costs at most MAX_DRAIN_MESSAGES receive()s."""
    calls = []

    async def receive():
        calls.append(1)
        return {"type": "http.request", "body": b"x", "more_body": len(calls) < 100_000}

    headers = [(b"content-type", b"text/plain"), (b"content-length", b"100000")]
    with pytest.raises(limits.Reply) as refused:
        asyncio.run(limits.read_body(headers, receive, 1 << 20))
    assert refused.value.status == 415
    assert len(calls) == limits.MAX_DRAIN_MESSAGES + 1


def test_a_refused_body_in_normal_pieces_is_still_drained_to_the_end():
    pieces = [{"type": "http.request", "body": b"x" * 65536, "more_body": True}] * 15
    pieces += [{"type": "http.request", "body": b"x" * 65536, "more_body": False}]

    async def receive():
        return pieces.pop(0)

    headers = [(b"content-type", b"text/plain"), (b"content-length", b"%d" % (16 * 65536))]
    with pytest.raises(limits.Reply) as refused:
        asyncio.run(limits.read_body(headers, receive, 1 << 20))
    assert refused.value.status == 415 and pieces == []
