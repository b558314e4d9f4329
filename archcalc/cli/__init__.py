"""The `archcalc` command line. Each command lives in its own module and registers on `app`.

Commands stay thin: parse options, call the library, render. Heavy imports (torch, pandas,
matplotlib) happen inside the commands that need them, never at import time.

`archcalc.cli.app` has every command (the package loads them all on first access, for tests and
`--help`). The console script, `main`, loads only the module of the command it runs: a report should
not pay for building nine other commands.
"""

from __future__ import annotations

import importlib
from typing import Any

from archcalc.interrupts import note_interrupts, was_interrupted

# Command name -> the module that defines it (a new command adds one line here).
COMMANDS = {
    "bench": "bench", "check": "check", "compare": "compare", "conventions": "conventions",
    "explain": "explain", "export-spec": "export_spec", "report": "report", "layers": "specs",
    "schema": "specs", "zoo": "specs", "sweep": "sweep", "variables": "variables",
}  # fmt: skip


def load_commands(names: list[str] | None = None) -> Any:
    """Import the modules of `names` (all commands when None) and return the typer app."""
    for module in sorted({COMMANDS[name] for name in (names if names is not None else COMMANDS)}):
        importlib.import_module(f"archcalc.cli.{module}")
    from archcalc.cli.application import app

    return app


def __getattr__(name: str) -> Any:
    if name == "app":
        return load_commands()
    raise AttributeError(name)


def _requested_command(argv: list[str]) -> str | None:
    """The command a command line runs, when it names one (options before it are global)."""
    for word in argv:
        if not word.startswith("-"):
            return word if word in COMMANDS else None
    return None


def main() -> None:
    import gc
    import os
    import sys

    # A run is short and builds many small objects that live until exit: the cyclic collector
    # would re-walk them again and again (a third of the time of a 100k-layer report).
    gc.disable()
    note_interrupts()
    try:
        command = _requested_command(sys.argv[1:])
        app = load_commands([command] if command else None)
        app()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except KeyboardInterrupt:  # Ctrl-C before a command's own handler is in place (while importing)
        sys.stderr.write("archcalc: interrupted\n")
        code = 130
    except BrokenPipeError:  # the reader of stdout left before anything could handle it
        code = 0
    if was_interrupted() and code != 130:  # a library swallowed the Ctrl-C (see archcalc.interrupts)
        sys.stderr.write("archcalc: interrupted\n")
        code = 130
    # Everything is written (files atomically, streams flushed here): skip the interpreter's
    # teardown of every module and object, which costs a tenth of a short run.
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (BrokenPipeError, OSError):  # `archcalc report ... | head` closed the pipe: not an error
            pass
    os._exit(code)


__all__ = ["COMMANDS", "app", "load_commands", "main"]
