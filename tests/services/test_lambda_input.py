"""09-serverless: what the hair Lambda refuses before connecting (``fetch.py``): malformed
and over-long URLs, inline images and their limits, the limits' environment variables, and
arbitrary events and URLs (never a 500).

Everything goes through ``lambda_function.lambda_handler`` on a tiny stand-in model
(``lambda_events``); nothing connects anywhere. Downloads are ``test_lambda_fetch.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lambda_events import JPEG, answer, assert_400, b64, expected, fx, image_bytes, pre

from zoomcamp import paths

MODULE = paths.module_dir("09-serverless")


# ---------------------------------------------------------------- malformed URLs
@pytest.mark.parametrize(
    "url, fragment",
    [
        ("http://[::1/a.jpg", "malformed"),  # unclosed IPv6 bracket
        ("http://[::1", "malformed"),
        ("http://[example.com]/a.jpg", ""),  # bracketed non-address
        ("http://[127.0.0.1]/a.jpg", ""),
        ("http://[fe80::1%25eth0]/a.jpg", "not an IPv6 address"),  # zone id
        ("http://[::1]x/a.jpg", "malformed host"),
        ("http://exa\x00mple.com/a.jpg", "control character"),
        ("http://example.com/a\r\nX-Injected: 1", "control character"),
        ("http://exa mple.com/a.jpg", "not a valid name"),
        ("http://%31%32%37.0.0.1/a.jpg", "not a valid name"),
        ("http://a..b/a.jpg", "not a valid name"),
        ("http://" + "a" * 64 + ".com/", "not a valid name"),
        ("http://@example.com/a.jpg", "credentials"),
        ("http://user:pw@example.com/a.jpg", "credentials"),
        ("http://example.com:99999/a.jpg", "port"),
        ("http://example.com:0/a.jpg", "port"),
        ("http://example.com:٨٠/a.jpg", "malformed"),  # Arabic-Indic digits
        ("http://:80/a.jpg", "no host"),
        ("http://", "no host"),
        ("ftp://example.com/a.jpg", "http and https"),
        ("file:///etc/passwd", "http and https"),
        ("example.com/a.jpg", "http and https"),
    ],
)
def test_malformed_urls_answer_400(url, fragment, monkeypatch):
    monkeypatch.setattr(fx, "_resolve", lambda host, port: pytest.fail(f"resolved {host!r}"))
    assert_400(answer({"url": url}), fragment)


def test_long_urls_are_refused():
    assert_400(answer({"url": "http://x/" + "a" * 3000}), "2048")


# ---------------------------------------------------------------- inline images
def test_inline_images_obey_the_limit(monkeypatch):
    assert answer({"image_b64": b64(JPEG)}) == expected(JPEG)
    monkeypatch.setattr(fx, "MAX_INLINE_BYTES", len(JPEG) - 1)
    assert_400(answer({"image_b64": b64(JPEG)}), f"limit of {len(JPEG) - 1} bytes")
    monkeypatch.setattr(fx, "MAX_INLINE_BYTES", len(JPEG))
    assert answer({"image_b64": b64(JPEG)}) == expected(JPEG)
    monkeypatch.setattr(fx, "MAX_BYTES", 100)  # the download limit caps inline images too
    assert_400(answer({"image_b64": b64(JPEG)}), "limit of 100 bytes")


def test_inline_limit_fits_the_lambda_payload():
    # Lambda takes at most 6 MB (6 * 2**20 bytes) per synchronous invocation: the largest
    # inline image allowed must fit, base64-encoded, in the event that carries it
    payload = 6 * 1024 * 1024
    for limit in (fx.read_limits({})["MAX_INLINE_BYTES"], fx.SETTINGS["MAX_INLINE_BYTES"][3]):
        event = json.dumps({"image_b64": b64(b"\0" * limit)})
        assert len(event) <= payload - 512, limit
    # one byte more than the largest that fits must be refused for its size, not decoded
    largest = (payload - len('{"image_b64": ""}')) // 4 * 3
    assert_400(answer({"image_b64": b64(b"\0" * (largest + 1))}), "exceeds the limit")


@pytest.mark.parametrize(
    "data, fragment",
    [(12, "base64 string"), ("", "base64 string"), ("not base64!!", "not valid base64")],
)
def test_bad_inline_values(data, fragment):
    assert_400(answer({"image_b64": data}), fragment)


def test_decompression_bomb_message_quotes_our_limit():
    for size in ((10_000, 10_000), (7_000, 7_000)):  # above 2x and 1x the pixel limit
        result = answer({"image_b64": b64(image_bytes(size, "PNG", "1"))})
        assert_400(result, f"{pre.MAX_PIXELS} pixels")
        assert str(2 * pre.MAX_PIXELS) not in result["error"]


# ---------------------------------------------------------------- events
def test_deeply_nested_bodies_answer_400():
    # json's parser recurses: 5,000 nested lists used to escape as a RecursionError (a 500)
    deep = "[" * 5000 + "]" * 5000
    for body in (deep, '{"url": ' + deep + "}", b64(deep.encode())):
        result = answer({"body": body, "isBase64Encoded": body[0] not in "[{"})
        assert result["statusCode"] == 400, result
        assert "nested too deeply" in json.loads(result["body"])["error"]


def test_http_api_event_without_a_body_is_a_proxy_400():
    # an HTTP API (payload 2.0) POST with an empty body arrives with no "body" key at all
    event = {
        "version": "2.0",
        "routeKey": "POST /predict",
        "rawPath": "/predict",
        "requestContext": {"http": {"method": "POST", "path": "/predict"}},
        "isBase64Encoded": False,
    }
    for proxy in (event, {"requestContext": {}}, {"httpMethod": "POST", "body": None}):
        result = answer(proxy)
        assert result["statusCode"] == 400 and result["headers"]["Content-Type"], result
        assert json.loads(result["body"]) == {"error": "empty request body"}


# ---------------------------------------------------------------- configuration
@pytest.mark.parametrize(
    "name, value",
    [
        ("MAX_IMAGE_BYTES", "abc"),
        ("MAX_IMAGE_BYTES", "0"),
        ("MAX_INLINE_BYTES", str(6 * 1024 * 1024)),  # cannot fit in the payload
        ("MAX_IMAGE_PIXELS", "-5"),
        ("MAX_IMAGE_PIXELS", "1e6"),
        ("TOTAL_TIMEOUT", "nan"),
        ("READ_TIMEOUT", "inf"),
        ("CONNECT_TIMEOUT", "3s"),
        ("ALLOW_PRIVATE_URLS", "yes"),
    ],
)
def test_bad_settings_are_named(name, value):
    with pytest.raises(fx.ConfigError, match=rf"^{name}="):
        fx.read_limits({name: value})


def test_settings_are_read():
    got = fx.read_limits({"MAX_IMAGE_BYTES": "1234", "TOTAL_TIMEOUT": " 2.5 ", "READ_TIMEOUT": ""})
    assert (got["MAX_IMAGE_BYTES"], got["TOTAL_TIMEOUT"], got["READ_TIMEOUT"]) == (1234, 2.5, 5.0)


def test_bad_environment_value_is_a_one_line_start_up_error():
    env = {"PATH": "/usr/bin:/bin", "MAX_IMAGE_BYTES": "abc"}
    proc = subprocess.run(
        [sys.executable, "-c", "import lambda_function"],
        cwd=MODULE,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: MAX_IMAGE_BYTES='abc'"), lines
    assert "integer" in lines[0]


# ---------------------------------------------------------------- no request makes it raise
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda c: (
        st.lists(c, max_size=3)
        | st.dictionaries(
            st.sampled_from(["url", "image_b64", "body", "version", "routeKey", "x"]), c, max_size=3
        )
    ),
    max_leaves=8,
)
urls = st.one_of(
    st.text(max_size=40).map(lambda s: "http://" + s),
    st.text(max_size=40).map(lambda s: "http://[" + s),
    st.text(max_size=40).map(lambda s: "https://a.b/" + s),
)


@pytest.fixture
def offline(monkeypatch):
    """Names resolve to nothing and connections are refused: parsing and policy only."""
    real = fx.socket.getaddrinfo

    def numeric_only(host, port, *args, **kwargs):
        return real(host, port, *args, flags=fx.socket.AI_NUMERICHOST, **kwargs)

    def refuse(*args, **kwargs):
        raise ConnectionRefusedError("offline test")

    monkeypatch.setattr(fx.socket, "getaddrinfo", numeric_only)
    monkeypatch.setattr(fx.socket, "create_connection", refuse)
    monkeypatch.delenv("ALLOW_PRIVATE_URLS", raising=False)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(event=st.one_of(json_values, urls.map(lambda u: {"url": u})))
def test_arbitrary_events_and_urls_never_answer_500(offline, event):
    result = answer(event)
    assert result.get("statusCode", 200) == 400, result
