"""uv run python 09-serverless/test.py [--url URL | --image FILE | --clothing] [--endpoint URL]

Course-style client for the Lambda container: posts one event to the emulator that the
image's entrypoint runs (``docker run -it --rm -p 8080:8080 hair-classifier:v1``) and
prints the function's JSON answer. Standard library only, so plain ``python`` works too.
Without ``--url``/``--image`` it sends the first curly image of the hair-type test set;
``--clothing`` sends the 09 workshop's pants image (for ``clothing-classifier:v1``).
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import urllib.error
import urllib.request
from pathlib import Path

ENDPOINT = "http://localhost:8080/2015-03-31/functions/function/invocations"
DEFAULT_IMAGE_GLOB = "data/hair-type/data/test/curly/*.jpg"
# the workshop's http://bit.ly/mlbookcamp-pants: this image of clothing-dataset-small, sent
# from the local copy (`--url` with the raw.githubusercontent.com address works too)
PANTS_IMAGE = "test/pants/4aabd82c-82e1-4181-a84d-d0c6e550d26d.jpg"
CLOTHING_DIR = "data/clothing-small/clothing-dataset-small-master"


def event_for(url: str | None, image: Path | None, clothing: bool = False) -> dict:
    repo = Path(__file__).resolve().parents[1]
    if url:
        return {"url": url}
    if clothing:
        image = repo / CLOTHING_DIR / PANTS_IMAGE
        if not image.is_file():
            raise SystemExit(
                "error: no clothing test set (run: uv run zoomcamp datasets fetch clothing-small)"
            )
    if image is None:
        found = sorted(repo.glob(DEFAULT_IMAGE_GLOB))
        if not found:
            raise SystemExit(
                "error: no --url/--image and no hair test set "
                "(run: uv run zoomcamp datasets fetch hair-type)"
            )
        image = found[0]
    if not image.is_file():
        raise SystemExit(f"error: no such image: {image}")
    return {"image_b64": base64.b64encode(image.read_bytes()).decode("ascii")}


def invoke(event: dict, endpoint: str = ENDPOINT, timeout: float = 60.0) -> dict:
    req = urllib.request.Request(
        endpoint,
        data=json.dumps(event).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[2])
    src = parser.add_mutually_exclusive_group()
    src.add_argument("--url", help="image URL the function downloads")
    src.add_argument("--image", type=Path, help="local image file, sent inline (base64)")
    src.add_argument(
        "--clothing", action="store_true", help="the workshop's pants image, sent inline"
    )
    parser.add_argument("--endpoint", default=ENDPOINT, help=f"invocation URL (default {ENDPOINT})")
    parser.add_argument(
        "--timeout", type=float, default=60.0, help="seconds to wait for the answer"
    )
    args = parser.parse_args(argv)
    try:
        event = event_for(args.url, args.image, args.clothing)
        result = invoke(event, args.endpoint, args.timeout)
    except (urllib.error.URLError, OSError) as exc:
        print(
            f"error: cannot reach {args.endpoint}: {exc} (is the container running?)",
            file=sys.stderr,
        )
        return 2
    print(json.dumps(result, indent=2))
    return 1 if isinstance(result, dict) and "error" in result else 0


if __name__ == "__main__":
    sys.exit(main())
