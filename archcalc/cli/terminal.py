"""What the terminal can show: width and colour for tables on stdout, progress on stderr.

A table written to a terminal fits its width and is coloured; piped or written to a file it is plain
and as wide as it needs (`COLUMNS` in the environment, or `--width`, still bounds it). NO_COLOR (any
value) turns colour off, FORCE_COLOR on. Progress goes to stderr, only when stderr is a terminal.
"""

from __future__ import annotations

import os
import sys

from archcalc.errors import ArchcalcError


def _is_terminal(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def table_width(output: str | None, width: int | None) -> int | None:
    """The width a terminal table must fit: --width, else the terminal's, else COLUMNS, else none."""
    if width is not None:
        if width < 20:
            raise ArchcalcError(f"--width takes a number of columns of at least 20, got {width}")
        return width
    if output not in (None, "-"):
        return None
    if _is_terminal(sys.stdout):
        import shutil

        return shutil.get_terminal_size().columns
    columns = os.environ.get("COLUMNS", "")
    return int(columns) if columns.isdigit() and int(columns) >= 20 else None


def use_color(output: str | None) -> bool:
    if output not in (None, "-") or "NO_COLOR" in os.environ:
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return _is_terminal(sys.stdout) and os.environ.get("TERM") != "dumb"


def parse_depth(text: str | None) -> int | str | None:
    """`--depth`: a level (1, 2, ...), `all` or `auto`."""
    if text is None:
        return None
    if text in ("all", "auto"):
        return text
    if text.isdigit() and int(text) >= 1:
        return int(text)
    raise ArchcalcError(f"--depth takes a level (1, 2, ...), 'all' or 'auto', got {text!r}")


__all__ = ["parse_depth", "table_width", "use_color"]
