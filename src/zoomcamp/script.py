"""The one way a module script runs: ``--help`` from its docstring, logging set up once, and a
user mistake (:class:`ZoomcampError`) as one line on stderr with exit status 2.

    from zoomcamp import script

    def main(argv=None):
        parser = script.parser(__doc__)
        parser.add_argument("--epochs", type=int, default=10, help="training epochs")
        args = parser.parse_args(argv)
        ...

    if __name__ == "__main__":
        script.run(main)
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from typing import TypeVar

from zoomcamp.errors import ZoomcampError

T = TypeVar("T")


class HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """The docstring's layout kept as written, and each flag's default in ``--help``, except
    ``None``: a flag whose default is None says in its own help what it falls back to."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.default is None:
            return action.help or ""
        return super()._get_help_string(action)


def description(doc: str | None) -> str:
    """A script docstring without its first paragraph (the command that runs it, which
    argparse's own usage line replaces)."""
    paragraphs = (doc or "").strip().split("\n\n", 1)
    return paragraphs[1].strip() if len(paragraphs) > 1 else paragraphs[0].strip()


def parser(doc: str | None, **kwargs) -> argparse.ArgumentParser:
    """An ``ArgumentParser`` whose ``--help`` is the script's docstring and its flags."""
    return argparse.ArgumentParser(
        description=description(doc), formatter_class=HelpFormatter, **kwargs
    )


def setup_logging(level: int = logging.INFO) -> None:
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


def run(main: Callable[[], T]) -> T:
    """Call ``main`` with logging set up; a :class:`ZoomcampError` becomes ``error: …`` and
    exit 2, Ctrl-C exit 130 (files are written atomically, so nothing is left half-done)."""
    setup_logging()
    try:
        return main()
    except ZoomcampError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        raise SystemExit(130) from None
