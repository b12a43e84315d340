"""python 05-deployment/lambda/test.py [--endpoint URL] [--gateway]

Course-style client for the churn Lambda container: posts ``{"customer": {...}}`` (the
example customer of 05-deployment/test.py) to the emulator that the image's entrypoint
runs (``docker run -it --rm -p 8080:8080 churn-lambda:v1``) and prints the function's
answer. ``--gateway`` wraps it as an API Gateway proxy event. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request

ENDPOINT = "http://localhost:8080/2015-03-31/functions/function/invocations"
CUSTOMER = {
    "gender": "female", "seniorcitizen": 0, "partner": "yes", "dependents": "no",
    "phoneservice": "no", "multiplelines": "no_phone_service", "internetservice": "dsl",
    "onlinesecurity": "no", "onlinebackup": "yes", "deviceprotection": "no",
    "techsupport": "no", "streamingtv": "no", "streamingmovies": "no",
    "contract": "month-to-month", "paperlessbilling": "yes",
    "paymentmethod": "electronic_check", "tenure": 1, "monthlycharges": 29.85,
    "totalcharges": 29.85,
}  # fmt: skip


def invoke(event: dict, endpoint: str = ENDPOINT, timeout: float = 30.0) -> dict:
    req = urllib.request.Request(
        endpoint,
        data=json.dumps(event).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[1])
    parser.add_argument(
        "--endpoint", default=ENDPOINT, help="invocation URL (default: %(default)s)"
    )
    parser.add_argument("--gateway", action="store_true", help="send an API Gateway proxy event")
    args = parser.parse_args(argv)
    event = {"customer": CUSTOMER}
    if args.gateway:
        event = {"body": json.dumps(event), "isBase64Encoded": False}
    try:
        answer = invoke(event, args.endpoint)
    except (urllib.error.URLError, OSError) as exc:
        print(
            f"error: cannot reach {args.endpoint}: {exc} (is the container running?)",
            file=sys.stderr,
        )
        return 2
    print(json.dumps(answer))
    return 0 if answer.get("statusCode", 200) == 200 else 1


if __name__ == "__main__":
    sys.exit(main())
