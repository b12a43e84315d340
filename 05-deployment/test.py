"""python 05-deployment/test.py [--url http://localhost:9696/predict]

The course's client: post one example customer to the churn service and print the
answer (standard library only, so any Python runs it).
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request

URL = "http://localhost:9696/predict"
CUSTOMER = {
    "gender": "female", "seniorcitizen": 0, "partner": "yes", "dependents": "no",
    "phoneservice": "no", "multiplelines": "no_phone_service", "internetservice": "dsl",
    "onlinesecurity": "no", "onlinebackup": "yes", "deviceprotection": "no",
    "techsupport": "no", "streamingtv": "no", "streamingmovies": "no",
    "contract": "month-to-month", "paperlessbilling": "yes",
    "paymentmethod": "electronic_check", "tenure": 1, "monthlycharges": 29.85,
    "totalcharges": 29.85,
}  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[1].strip())
    parser.add_argument("--url", default=URL, help="the service's /predict (default: %(default)s)")
    args = parser.parse_args(argv)
    request = urllib.request.Request(
        args.url, data=json.dumps(CUSTOMER).encode(), headers={"Content-Type": "application/json"}
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
