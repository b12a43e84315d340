"""Safe unpacking of zip archives and verification of their layout by counts."""

from __future__ import annotations

import stat
import zipfile
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

from zoomcamp.errors import ZoomcampError

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp"})


class UnsafeArchiveError(ZoomcampError):
    """An archive member would land outside the target folder (or is a link)."""


class LayoutError(ZoomcampError):
    """An unpacked archive does not have the folders and counts it should."""


def _member_target(dest: Path, info: zipfile.ZipInfo) -> Path:
    name = info.filename
    pure = PurePosixPath(name.replace("\\", "/"))
    if pure.is_absolute() or ".." in pure.parts or (pure.parts and ":" in pure.parts[0]):
        raise UnsafeArchiveError(f"archive member {name!r} would escape the target folder")
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise UnsafeArchiveError(f"archive member {name!r} is a symbolic link")
    target = (dest / pure).resolve()
    if not target.is_relative_to(dest.resolve()):
        raise UnsafeArchiveError(f"archive member {name!r} would escape the target folder")
    return target


def safe_extract(archive: Path, dest: Path) -> list[Path]:
    """Unpack ``archive`` into ``dest``; every member is checked before anything is written."""
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    with zipfile.ZipFile(archive) as zf:
        members = [(info, _member_target(dest, info)) for info in zf.infolist()]
        for info, target in members:
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(target, "wb") as out:
                while block := src.read(1 << 20):
                    out.write(block)
            written.append(target)
    return written


def count_images(folder: Path) -> int:
    return sum(1 for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def verify_layout(root: Path, expected: Mapping[str, tuple[int, int]]) -> dict[str, int]:
    """Check that each ``relative/folder`` under ``root`` holds between lo and hi images.

    Returns the counts found; raises ``LayoutError`` listing every problem at once.
    """
    counts: dict[str, int] = {}
    problems = []
    for rel, (lo, hi) in expected.items():
        folder = root / rel
        if not folder.is_dir():
            problems.append(f"missing folder {rel}/")
            continue
        counts[rel] = n = count_images(folder)
        if not lo <= n <= hi:
            problems.append(f"{rel}/ holds {n} images, expected {lo}..{hi}")
    if problems:
        raise LayoutError(f"unexpected layout in {root}: " + "; ".join(problems))
    return counts
