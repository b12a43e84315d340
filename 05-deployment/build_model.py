"""uv run python 05-deployment/build_model.py

Rebuild the model file the service image carries, ``05-deployment/model/churn-model.bin``
(+ ``churn-model.json``), by running the one training script, 03-classification/train.py,
with ``--output`` pointing here. The two files are committed: they are small (a few KB),
the Docker build context (this folder) must hold them, and the image then needs neither
the data nor the training code. Extra arguments go to train.py (e.g. ``--C 1.0``).
03's reports are written to a scratch folder, so this does not touch reports/03-*.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
TRAIN = HERE.parent / "03-classification" / "train.py"
OUTPUT = HERE / "model" / "churn-model.bin"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n", 1)[1].strip(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--output", type=Path, default=OUTPUT, help="model file (default: %(default)s)"
    )
    args, train_args = parser.parse_known_args(argv)
    if not TRAIN.is_file():
        print(f"error: the training script {TRAIN} is missing", file=sys.stderr)
        raise SystemExit(2)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory() as scratch,
        tempfile.TemporaryDirectory(prefix=".build-", dir=args.output.parent) as staging,
    ):
        # Train into a staging folder first: the committed files are replaced only when
        # the model itself changed (same bytes -> same sha256), so a rebuild that only
        # differs by its timestamp leaves the checkout clean.
        fresh = Path(staging) / args.output.name
        env = {**os.environ, "ZOOMCAMP_REPORTS_DIR": scratch}
        proc = subprocess.run(
            [sys.executable, str(TRAIN), "--output", str(fresh), *train_args],
            env=env,
            stdout=sys.stderr,
        )
        if proc.returncode != 0:
            raise SystemExit(proc.returncode)
        meta = json.loads(fresh.with_suffix(".json").read_text(encoding="utf-8"))
        old_meta = args.output.with_suffix(".json")
        unchanged = (
            args.output.is_file()
            and old_meta.is_file()
            and json.loads(old_meta.read_text(encoding="utf-8")).get("sha256") == meta["sha256"]
        )
        if not unchanged:
            for src in (fresh, fresh.with_suffix(".json")):
                os.replace(src, args.output.parent / src.name.replace(fresh.stem, args.output.stem))
    print(
        f"{args.output}: {'unchanged, ' if unchanged else ''}sha256 {meta['sha256'][:12]}…  C={meta['C']}  "
        f"test AUC={meta['metrics']['test_auc']:.4f}  scikit-learn {meta['sklearn_version']}"
    )


if __name__ == "__main__":
    main()
