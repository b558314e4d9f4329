"""Ctrl-C that a third-party import would lose.

Importing torch (and numpy under it) can lose a SIGINT. An interrupted C-extension import is
retried by the importer's caller and fails with "cannot load module more than once per process",
which reads like a missing install (exit 2); or the KeyboardInterrupt is caught and dropped, and
the command runs to the end (exit 0). The CLI therefore notes every SIGINT itself: a run that was
interrupted ends with 130 whatever a library did with the KeyboardInterrupt.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType

_interrupted = False


def _on_sigint(signum: int, frame: FrameType | None) -> None:
    global _interrupted
    _interrupted = True
    raise KeyboardInterrupt


def note_interrupts() -> None:
    """Record every SIGINT from now on (signal handlers can only be set on the main thread)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _on_sigint)


def was_interrupted() -> bool:
    return _interrupted


def raise_if_interrupted() -> None:
    """After code that may have swallowed a Ctrl-C: raise it again."""
    if _interrupted:
        raise KeyboardInterrupt
