"""What the terminal can show: width and colour for tables on stdout, progress on stderr.

A table written to a terminal fits its width and is coloured; piped or written to a file it is plain
and as wide as it needs (`--width` still bounds it). NO_COLOR (any
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
    """The width a terminal table must fit: --width, else the terminal's; none when piped (a file or a pager
    takes any width, and COLUMNS is not trusted: test runners and CI set it to 80 without a terminal)."""
    if width is not None:
        if width < 20:
            raise ArchcalcError(f"--width takes a number of columns of at least 20, got {width}")
        return width
    if output not in (None, "-"):
        return None
    if _is_terminal(sys.stdout):
        import shutil

        return shutil.get_terminal_size().columns
    return None


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





class StderrProgress:
    """A progress bar per task on stderr, drawn only when stderr is a terminal (removed when done).

    Use as a context manager; the instance is the `progress(task, done, total)` callable the library
    takes. Not on a terminal it does nothing, so piped output and log files stay clean.
    """

    def __init__(self, enabled: bool | None = None) -> None:
        self.enabled = _is_terminal(sys.stderr) if enabled is None else enabled
        self._bar = None
        self._tasks: dict[str, int] = {}

    def __enter__(self) -> "StderrProgress":
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=Console(file=sys.stderr), transient=True)  # fmt: skip
            self._bar.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.stop()

    def __call__(self, task: str, done: int, total: int | None) -> None:
        if self._bar is None:
            return
        key = task.split(": ", 1)[0]  # "make bench: resnet50 fvcore" updates one bar, "make bench"
        if key not in self._tasks:
            self._tasks[key] = self._bar.add_task(task, total=total)
        self._bar.update(self._tasks[key], completed=done, total=total, description=task)
__all__ = ["StderrProgress", "parse_depth", "table_width", "use_color"]
