"""The `archcalc` command line. Each command lives in its own module and registers on `app`.

Commands stay thin: parse options, call the library, render. Heavy imports (torch, pandas,
matplotlib) happen inside the commands that need them, never at import time.
"""

from __future__ import annotations

from archcalc.cli import (  # noqa: F401  (registers the commands)
    bench,
    check,
    compare,
    conventions,
    explain,
    export_spec,
    report,
    specs,
    sweep,
)
from archcalc.cli.app import app


def main() -> None:
    import gc

    # A run is short and builds many small objects that live until exit: the cyclic collector
    # would re-walk them again and again (a third of the time of a 100k-layer report).
    gc.disable()
    app()


__all__ = ["app", "main"]
