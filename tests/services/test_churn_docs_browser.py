"""05-deployment: /docs in a real headless Chromium, with no host but the service reachable.

uvicorn serves predict:app on 127.0.0.1; Chromium (driven through chromedriver's WebDriver
HTTP API, standard library only) opens /docs, runs "Try it out" on POST /predict with the
schema's example customer and reads the 200 answer. Every request the page made (Chrome's
performance log) must have gone to the service: the Swagger UI files come from the image,
not from a CDN. Needs Debian's ``chromium`` and ``chromium-driver``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit

import pytest
from churn_hostile import EXAMPLE
from ports import free_port, running

from zoomcamp import paths

pytestmark = pytest.mark.browser

MODULE = paths.module_dir("05-deployment")
CHROME_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",  # no other host resolves
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1280,2000",
]
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"  # the W3C key of an element reference


@pytest.fixture(scope="module")
def served(churn_model_dir):
    """``http://127.0.0.1:<port>`` of uvicorn serving predict:app, as the image does."""
    port = free_port()
    cmd = [sys.executable, "-m", "uvicorn", "predict:app", "--app-dir", str(MODULE)]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    url = f"http://127.0.0.1:{port}"
    with running(cmd, url + "/health", env={**os.environ, "MODEL_DIR": str(churn_model_dir)}):
        yield url


class Browser:
    """A chromedriver session over its WebDriver HTTP API."""

    def __init__(self, driver_url: str):
        self.url = driver_url
        caps = {
            "browserName": "chrome",
            "goog:chromeOptions": {"args": CHROME_ARGS, "binary": chromium()},
            "goog:loggingPrefs": {"performance": "ALL"},
        }
        session = self.call("POST", "/session", {"capabilities": {"alwaysMatch": caps}})
        self.url += f"/session/{session['sessionId']}"

    def call(self, method: str, path: str, body: dict | None = None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return json.load(response)["value"]
        except urllib.error.HTTPError as exc:
            raise AssertionError(f"{method} {path}: {exc.read().decode()[:1000]}") from None

    def find(self, css: str, seconds: float = 30) -> str:
        """The first element matching ``css``, waiting for it to appear."""
        deadline = time.monotonic() + seconds
        while True:
            found = self.call("POST", "/elements", {"using": "css selector", "value": css})
            if found:
                return found[0][ELEMENT]
            assert time.monotonic() < deadline, f"no {css!r} on the page within {seconds} s"
            time.sleep(0.2)

    def click(self, css: str) -> None:
        self.call("POST", f"/element/{self.find(css)}/click", {})

    def text(self, css: str) -> str:
        return self.call("GET", f"/element/{self.find(css)}/text")

    def requested(self) -> list[str]:
        """Every URL the page requested so far (Chrome's performance log)."""
        urls = []
        for entry in self.call("POST", "/se/log", {"type": "performance"}):
            message = json.loads(entry["message"])["message"]
            if message["method"] == "Network.requestWillBeSent":
                urls.append(message["params"]["request"]["url"])
        return urls


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "no chromium: apt-get install -y chromium chromium-driver"
    return found


@pytest.fixture(scope="module")
def browser():
    driver = shutil.which("chromedriver")
    assert driver, "no chromedriver: apt-get install -y chromium chromium-driver"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with running([driver, f"--port={port}"], url + "/status", stdout=subprocess.DEVNULL):
        browser = Browser(url)
        try:
            yield browser
        finally:
            browser.call("DELETE", "")


@pytest.mark.slow  # a subprocess, a framework import or a tool: seconds
def test_try_it_out_on_predict_answers_200_from_local_files_only(served, browser):
    browser.call("POST", "/url", {"url": served + "/docs"})
    browser.click("#operations-default-predict_predict_post .opblock-summary")
    browser.click("#operations-default-predict_predict_post .try-out__btn")
    browser.click("#operations-default-predict_predict_post .execute")
    status = browser.text("#operations-default-predict_predict_post .live-responses-table "
                          ".response .response-col_status")  # fmt: skip
    body = browser.text("#operations-default-predict_predict_post .live-responses-table "
                        ".response-col_description .microlight")  # fmt: skip
    assert status.strip() == "200", (status, body)
    answer = json.loads(body)
    assert set(answer) == {"churn_probability", "churn"}
    assert 0 < answer["churn_probability"] < 1
    urls = browser.requested()
    host = urlsplit(served).netloc
    assert {served + "/docs", served + "/openapi.json", served + "/predict"} <= set(urls)
    others = [u for u in urls if urlsplit(u).scheme not in ("data", "blob")]
    assert all(urlsplit(u).netloc == host for u in others), [
        u for u in others if urlsplit(u).netloc != host
    ]
    # the request body Swagger sent was the schema's example: customer.json
    assert EXAMPLE == json.loads(
        browser.text("#operations-default-predict_predict_post .curl-command .microlight")
        .split("-d '", 1)[1]
        .rsplit("'", 1)[0]
    )
