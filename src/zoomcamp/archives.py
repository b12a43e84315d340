"""Safe unpacking of zip archives, verification of their layout by counts, and the
manifest that lets an unpacked tree be checked later instead of trusted."""

from __future__ import annotations

import hashlib
import os
import stat
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from zoomcamp.errors import ZoomcampError

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp"})


class UnsafeArchiveError(ZoomcampError):
    """An archive member would land outside the target folder, is a link, or the archive
    is over its extraction budget."""


class LayoutError(ZoomcampError):
    """An unpacked archive does not have the folders and counts it should."""


class TreeChangedError(ZoomcampError):
    """A file of an unpacked tree differs from what was unpacked."""


@dataclass(frozen=True)
class Budget:
    """What one archive may write. The course's archives: about 1,000 and 3,800 images,
    93 and 107 MB unpacked, ratio 1.0 (JPEG/PNG do not compress)."""

    max_members: int = 20_000
    max_bytes: int = 1 << 30
    max_ratio: float = 50.0  # unpacked / packed, for the archive and each member
    ratio_floor: int = 1 << 20  # members smaller than this may compress better (text files)


DEFAULT_BUDGET = Budget()


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


def check_budget(archive: Path, infos: list[zipfile.ZipInfo], budget: Budget) -> None:
    """Refuse, from the central directory alone, an archive that would write too much."""
    if len(infos) > budget.max_members:
        raise UnsafeArchiveError(
            f"{archive.name} has {len(infos)} members, more than the {budget.max_members} allowed"
        )
    total = sum(i.file_size for i in infos)
    if total > budget.max_bytes:
        raise UnsafeArchiveError(
            f"{archive.name} would unpack to {total} bytes, more than {budget.max_bytes}"
        )
    if total > budget.ratio_floor and total > budget.max_ratio * archive.stat().st_size:
        raise UnsafeArchiveError(
            f"{archive.name} would unpack to {total} bytes from {archive.stat().st_size}: "
            f"more than {budget.max_ratio:g} times its size (a zip bomb?)"
        )
    for i in infos:
        if i.file_size > budget.ratio_floor and i.file_size > budget.max_ratio * max(
            i.compress_size, 1
        ):
            raise UnsafeArchiveError(
                f"archive member {i.filename!r} would unpack {i.compress_size} bytes to "
                f"{i.file_size}: more than {budget.max_ratio:g} times (a zip bomb?)"
            )
    names = [i.filename.rstrip("/") for i in infos]
    if len(set(names)) != len(names):
        raise UnsafeArchiveError(f"{archive.name} names the same member twice")


def safe_extract(archive: Path, dest: Path, budget: Budget = DEFAULT_BUDGET) -> list[Path]:
    """Unpack ``archive`` into ``dest``; every member and the budget are checked before
    anything is written, and no member writes more than the size it declares."""
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    with zipfile.ZipFile(archive) as zf:
        infos = zf.infolist()
        check_budget(archive, infos, budget)
        members = [(info, _member_target(dest, info)) for info in infos]
        for info, target in members:
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            done = 0
            with zf.open(info) as src, open(target, "wb") as out:
                while block := src.read(1 << 20):
                    done += len(block)
                    if done > info.file_size:
                        raise UnsafeArchiveError(f"archive member {info.filename!r} overflows")
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


# ---------------------------------------------------------------- manifest of a tree


def _files(root: Path, skip: str) -> dict[str, os.stat_result]:
    found = {}
    for dirpath, _, names in os.walk(root):
        for name in names:
            path = Path(dirpath, name)
            rel = path.relative_to(root).as_posix()
            if rel != skip:
                found[rel] = path.lstat()
    return found


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def manifest(root: Path, skip: str = "") -> dict[str, dict[str, Any]]:
    """Every file under ``root``: size, mtime (ns) and sha256, by relative POSIX path."""
    return {
        rel: {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": _sha256(root / rel)}
        for rel, st in sorted(_files(root, skip).items())
    }


def check_tree(root: Path, expected: Mapping[str, Mapping[str, Any]], *, deep: bool = False,
               skip: str = "") -> None:  # fmt: skip
    """Raise :class:`TreeChangedError` unless ``root`` holds exactly the files of
    ``expected`` (a :func:`manifest`), each a regular file of the recorded size and mtime
    (``deep``: the sha256 instead of the mtime, which reads every byte)."""
    found = _files(root, skip)
    problems = [f"{rel} was added" for rel in sorted(found.keys() - expected.keys())]
    problems += [f"{rel} was removed" for rel in sorted(expected.keys() - found.keys())]
    for rel in sorted(found.keys() & expected.keys()):
        st, want = found[rel], expected[rel]
        if not stat.S_ISREG(st.st_mode):
            problems.append(f"{rel} is no longer a regular file")
        elif st.st_size != want["size"]:
            problems.append(f"{rel} has {st.st_size} bytes, {want['size']} were unpacked")
        elif deep and _sha256(root / rel) != want["sha256"]:
            problems.append(f"{rel} has other bytes than the archive's (sha256)")
        elif not deep and st.st_mtime_ns != want["mtime_ns"]:
            problems.append(f"{rel} was modified after it was unpacked")
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise TreeChangedError(
            f"{root} changed since it was unpacked: {'; '.join(problems[:3])}{more}"
        )


def listing(archive: Path) -> dict[str, int]:
    """The files an archive holds and their sizes, from its central directory alone."""
    with zipfile.ZipFile(archive) as zf:
        return {_rel(i): i.file_size for i in zf.infolist() if not i.is_dir()}


def member_digests(archive: Path) -> dict[str, dict[str, Any]]:
    """Size and sha256 of every file of ``archive``, read from the archive itself."""
    found = {}
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            if info.is_dir():
                continue
            digest = hashlib.sha256()
            with zf.open(info) as src:
                while block := src.read(1 << 20):
                    digest.update(block)
            found[_rel(info)] = {"size": info.file_size, "sha256": digest.hexdigest()}
    return found


def _rel(info: zipfile.ZipInfo) -> str:
    return PurePosixPath(info.filename.replace("\\", "/")).as_posix()


def member_problems(archive: Path, manifest: Mapping[str, Any]) -> list[str]:
    """What keeps ``archive`` from holding exactly the manifest's members: each listed
    member present with its sha256, and no file beyond ``unverified_members``."""
    want: Mapping[str, str] = manifest["members"]
    allowed = set(manifest.get("unverified_members", ()))
    problems, seen = [], set()
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            if info.is_dir():
                continue
            name = info.filename
            seen.add(name)
            if name not in want:
                if name not in allowed:
                    problems.append(f"unexpected member {name}")
                continue
            digest = hashlib.sha256()
            with zf.open(info) as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(chunk)
            if digest.hexdigest() != want[name]:
                problems.append(f"{name} has other bytes")
    problems += [f"{name} is missing" for name in sorted(set(want) - seen)]
    return problems
