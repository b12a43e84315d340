"""What of a notebook's output is compared with the committed one: the text a cell prints
or returns, with what varies from run to run masked (timings, addresses, progress bars).
Figures and stderr (warnings, progress) are not compared."""

from __future__ import annotations

import re

MASKS = [
    (re.compile(r"0x[0-9a-f]{6,}"), "0x…"),  # object addresses
    (re.compile(r"\d+(?:\.\d+)?\s?(?:ms|µs|us|s|sec|seconds)\b"), "<time>"),
    (re.compile(r"\d+(?:\.\d+)? ?(?:it|B|kB|MB|KiB|MiB)/s"), "<rate>"),
    (re.compile(r"/tmp/[^\s'\"]+"), "<tmp>"),
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z?"), "<time>"),
]


def mask(text: str) -> str:
    for pattern, repl in MASKS:
        text = pattern.sub(repl, text)
    return text.rstrip()


def cell_texts(nb) -> list[list[str]]:
    """Per code cell, its masked stdout and text/plain results, in order."""
    cells = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        texts, stdout = [], ""
        for out in cell.get("outputs", []):
            if out.output_type == "stream":
                # print() writes its text and its newline separately and the kernel may
                # flush between them, so chunks are joined raw before masking
                if out.name == "stdout":
                    stdout += out.text
                continue
            if stdout:
                texts.append(mask(stdout))
                stdout = ""
            if out.output_type in ("execute_result", "display_data"):
                plain = out.get("data", {}).get("text/plain")
                if plain is not None and not plain.startswith(("<IPython.core.display", "<Figure")):
                    texts.append(mask(plain))
            elif out.output_type == "error":
                texts.append(f"{out.ename}: {out.evalue}")
        if stdout:
            texts.append(mask(stdout))
        cells.append(["\n".join(texts)] if texts else [])
    return cells


def differences(committed, fresh) -> list[str]:
    """Human-readable mismatches between two notebooks' cell texts."""
    old, new = cell_texts(committed), cell_texts(fresh)
    if len(old) != len(new):
        return [f"{len(old)} code cells committed, {len(new)} now"]
    return [
        f"code cell {i}:\n--- committed\n{'|'.join(a)[:1500]}\n+++ now\n{'|'.join(b)[:1500]}"
        for i, (a, b) in enumerate(zip(old, new, strict=True))
        if a != b
    ]
