"""uv run python 05-deployment/build_model.py [--dest FOLDER]

Copy the churn model of 03-classification/train.py (``models/churn/``, verified) into
``model/`` here, the git-ignored part of the image's build context; then
``docker build -t churn-service 05-deployment``. Nothing is trained here.
"""

from __future__ import annotations

from pathlib import Path

from zoomcamp import artifacts, paths, script
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
    parser = script.parser(__doc__)
    parser.add_argument(
        "--dest", type=Path, default=HERE / "model", help="where the image's model goes"
    )
    args = parser.parse_args(argv)
    meta = build(args.dest)
    files = ", ".join(f"{name} sha256 {digest[:12]}…" for name, digest in meta["files"].items())
    versions = ", ".join(f"{k} {v}" for k, v in meta["versions"].items() if k != "python")
    print(f"{args.dest}: {files}  ({versions}; trained {meta['created']})")


if __name__ == "__main__":
    script.run(main)
