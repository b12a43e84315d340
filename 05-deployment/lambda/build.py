"""uv run python 05-deployment/lambda/build.py [--tag churn-lambda:v1] [--no-build] [--dest DIR]

Copies what the function shares with the FastAPI service into this folder's git-ignored
part (the scorer ``05-deployment/churn_scoring.py`` and the model of ``models/churn/``,
verified against its metadata), then runs ``docker build -t TAG 05-deployment/lambda``.
Without the model it says to run ``uv run zoomcamp reproduce 03``. ``--dest DIR`` fills a
copy of the build context instead of this folder.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from zoomcamp import artifacts, fileio, paths, script
from zoomcamp.errors import ZoomcampError

HERE = Path(__file__).resolve().parent
SCORER = HERE.parent / "churn_scoring.py"
MODEL = "churn"
TAG = "churn-lambda:v1"
# docker build --network: Docker's own unless set (09-serverless/README.md, "Without NAT")
NETWORK = os.environ.get("ZOOMCAMP_DOCKER_NETWORK") or None
TRAIN = "uv run zoomcamp reproduce 03 (or: uv run python 03-classification/train.py)"


def context_files() -> list[str]:
    """This folder's own files the image needs: what ``.dockerignore`` lets in, but the
    copied ones (the scorer and ``model/``)."""
    names = ["Dockerfile", ".dockerignore"]
    for line in (HERE / ".dockerignore").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line.startswith("!") and "/" not in line and line[1:] != SCORER.name:
            names.append(line[1:])
    return names


def _copy(source: Path, target: Path) -> None:
    """Atomically, and not at all when identical (the image cache survives a rebuild)."""
    if target.is_file() and target.read_bytes() == source.read_bytes():
        return
    with fileio.atomic_path(target) as tmp:
        tmp.write_bytes(source.read_bytes())


def prepare_context(dest: Path | None = None, source: Path | None = None) -> dict:
    """Fill the build context ``dest`` (default: this folder) with the scorer and the
    verified model folder ``source`` (default ``models/churn/``); its metadata."""
    dest = HERE if dest is None else Path(dest)
    source = paths.model_dir(MODEL) if source is None else Path(source)
    if not (source / artifacts.METADATA_FILE).is_file():
        raise ZoomcampError(f"no churn model at {source}: train it first with {TRAIN}")
    meta = artifacts.verify(source, check_versions=False)
    if "model.json" not in meta["files"]:
        raise ZoomcampError(f"{source} has no model.json (an older export): {TRAIN}")
    dest.mkdir(parents=True, exist_ok=True)
    if dest.resolve() != HERE:
        for name in context_files():
            _copy(HERE / name, dest / name)
    _copy(SCORER, dest / SCORER.name)
    return artifacts.copy(source, dest / "model")


def docker_build(context: Path, tag: str, network: str | None = NETWORK) -> None:
    docker = shutil.which("docker")
    if not docker:
        raise ZoomcampError("no docker on PATH (use --no-build to only prepare the context)")
    cmd = [docker, "build", "-t", tag, *(["--network", network] if network else []), str(context)]
    print("+ " + " ".join(cmd), file=sys.stderr)
    if subprocess.run(cmd).returncode != 0:
        raise ZoomcampError(f"docker build of {context} failed (its output is above)")


def main(argv: list[str] | None = None) -> None:
    parser = script.parser(__doc__)
    parser.add_argument("--tag", default=TAG, help="image tag")
    parser.add_argument(
        "--network",
        default=NETWORK,
        help="docker build --network, e.g. host where build containers cannot reach PyPI "
        "(default: $ZOOMCAMP_DOCKER_NETWORK, else Docker's own)",
    )
    parser.add_argument("--no-build", action="store_true", help="only prepare the context")
    parser.add_argument("--dest", type=Path, default=HERE, help="build context to fill")
    args = parser.parse_args(argv)
    meta = prepare_context(args.dest)
    digest = meta["files"]["model.json"][:12]
    print(f"{args.dest}: churn_scoring.py, model/model.json sha256 {digest}…", file=sys.stderr)
    if not args.no_build:
        docker_build(args.dest, args.tag, args.network or None)
        print(f"built {args.tag}: docker run -it --rm -p 8080:8080 {args.tag}")


if __name__ == "__main__":
    script.run(main)
