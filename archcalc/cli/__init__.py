"""The `archcalc` command line. Each command lives in its own module and registers on `app`.

Commands stay thin: parse options, call the library, render. Heavy imports (torch, pandas,
matplotlib) happen inside the commands that need them, never at import time.
"""

from __future__ import annotations

from archcalc.cli import check, report, specs  # noqa: F401  (registers commands)
from archcalc.cli.app import app


def main() -> None:
    app()


__all__ = ["app", "main"]
