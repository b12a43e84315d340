"""python 05-deployment/test.py [--url http://localhost:9696/predict] [--customer FILE]

The course's client: post one customer (default customer.json next to this file) to the
churn service and print the answer (standard library only, so any Python runs it).
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from pathlib import Path

URL = "http://localhost:9696/predict"
CUSTOMER_FILE = Path(__file__).resolve().parent / "customer.json"
CUSTOMER = json.loads(CUSTOMER_FILE.read_text(encoding="utf-8"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[1].strip())
    parser.add_argument("--url", default=URL, help="the service's /predict (default: %(default)s)")
    parser.add_argument(
        "--customer",
        type=Path,
        default=CUSTOMER_FILE,
        help="a customer as JSON (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    try:
        body = args.customer.read_bytes()
    except OSError as exc:
        print(f"error: cannot read {args.customer}: {exc.strerror}", file=sys.stderr)
        raise SystemExit(2) from None
    request = urllib.request.Request(
        args.url, data=body, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            answer = json.load(response)
    except urllib.error.HTTPError as exc:
        print(
            f"error: {args.url} answered {exc.code}: {exc.read().decode(errors='replace')}",
            file=sys.stderr,
        )
        raise SystemExit(2) from None
    except urllib.error.URLError as exc:
        print(
            f"error: cannot reach {args.url}: {exc.reason} (is the service running?)",
            file=sys.stderr,
        )
        raise SystemExit(2) from None
    print(json.dumps(answer))
    verdict = "will churn: send a promotion" if answer["churn"] else "not likely to churn"
    print(f"churn probability {answer['churn_probability']:.3f}: {verdict}")


if __name__ == "__main__":
    main()
