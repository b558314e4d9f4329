"""Progress of long runs (check, bench, sweep, conventions --peers): the library reports, the CLI shows.

A long-running library call takes `progress`, a callable `progress(task, done, total)`: `task` names
the current step ("forward pass", "receptive fields"), `done` counts finished units of it out of
`total` (None when unknown). The default does nothing; the CLI passes one that draws a bar on stderr
when stderr is a terminal (archcalc/cli/terminal.py), so pipes and files never see it.
"""

from __future__ import annotations

from typing import Callable, Optional

Progress = Callable[[str, int, Optional[int]], None]


def silent(task: str, done: int, total: int | None) -> None:
    """The default: no progress shown."""


__all__ = ["Progress", "silent"]
