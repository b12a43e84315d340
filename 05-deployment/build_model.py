"""uv run python 05-deployment/build_model.py [--dest FOLDER]

The build step of the service image: copy the churn model that 03-classification/train.py
saved under ``models/churn/`` (``model.bin``, ``model.json`` + ``metadata.json``) into
``model/`` here, the git-ignored part of the Docker build context (the image takes only
``model.json``, the plain-data model; ``bench.py``'s course-style baseline the pickle).
The folder is verified first (schema, sha256 of every file), files already identical are
left alone (the image cache survives a rebuild) and the metadata is written last. Nothing is trained here: run
``uv run zoomcamp reproduce 03`` (or ``uv run python 03-classification/train.py``) first.
Then ``docker build -t churn-service 05-deployment``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from zoomcamp import artifacts, paths
from zoomcamp.errors import ZoomcampError

HERE = Path(__file__).resolve().parent
MODEL = "churn"
TRAIN = "uv run zoomcamp reproduce 03 (or: uv run python 03-classification/train.py)"


def build(dest: Path) -> dict:
    """Copy the verified ``models/churn/`` into ``dest``; its metadata."""
    source = paths.model_dir(MODEL)
    if not (source / artifacts.METADATA_FILE).is_file():
        raise ZoomcampError(f"no churn model at {source}: train it first with {TRAIN}")
    return artifacts.copy(source, dest)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n", 1)[1].strip(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--dest",
        type=Path,
        default=HERE / "model",
        help="where the image's model goes (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    try:
        meta = build(args.dest)
    except ZoomcampError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    files = ", ".join(f"{name} sha256 {digest[:12]}…" for name, digest in meta["files"].items())
    versions = ", ".join(f"{k} {v}" for k, v in meta["versions"].items() if k != "python")
    print(f"{args.dest}: {files}  ({versions}; trained {meta['created']})")


if __name__ == "__main__":
    main()
