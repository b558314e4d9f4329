"""What every command shares: error handling (exit codes) and output. The options of commands that
read graphs (SPEC, --module, --input, --set, the limit flags) are declared in cli/sources.py."""

from __future__ import annotations

import functools
import os
import sys
import traceback
from typing import Any, Callable, Mapping

import typer

from archcalc.errors import ArchcalcError

EXIT_OK, EXIT_MISMATCH, EXIT_BAD_INPUT, EXIT_INTERNAL = 0, 1, 2, 3
BUG_HINT = ("this is a bug in archcalc; please report it with the command you ran (for the traceback, run it again "
            "with --debug right after `archcalc`: archcalc --debug COMMAND ...)")  # fmt: skip


class State:
    debug = False


def fail(message: str) -> typer.Exit:
    typer.echo(f"archcalc: error: {' '.join(message.split())}", err=True)
    return typer.Exit(EXIT_BAD_INPUT)


def _traceback_if_debug() -> None:
    if State.debug:
        typer.echo(traceback.format_exc().rstrip(), err=True)


def handle_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Bad input -> one line on stderr and exit 2; anything unexpected -> one line and exit 3.

    With --debug the traceback is printed first; the last line and the exit code stay the same.
    """

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except ArchcalcError as exc:
            _traceback_if_debug()
            raise fail(str(exc)) from None
        except (typer.Exit, typer.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            typer.echo("archcalc: interrupted", err=True)
            raise typer.Exit(130) from None
        except MemoryError:
            _traceback_if_debug()
            raise fail("out of memory: the machine cannot hold what this command builds (archcalc report and "
                       "check --device meta need almost none)") from None
        except BrokenPipeError:  # `archcalc report x | head`: the reader left; nothing to report
            _silence_stdout()
            raise typer.Exit(EXIT_OK) from None
        except Exception as exc:  # noqa: BLE001 - the contract: never a traceback without --debug
            _traceback_if_debug()
            if type(exc).__name__ == "OutOfMemoryError" or "can't allocate memory" in str(exc):
                raise fail(f"out of memory: {' '.join(str(exc).split())[:200]}") from None
            detail = " ".join(str(exc).split())[:300] or "(no message)"
            typer.echo(f"archcalc: internal error: {type(exc).__name__}: {detail}; {BUG_HINT}", err=True)
            raise typer.Exit(EXIT_INTERNAL) from None

    return wrapper


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # not a real file (a test runner's buffer)
        pass


def emit(text: str, output: str | None, beside: Mapping[Any, bytes | str] | None = None) -> None:
    """Print `text`, or write it to `output`; files `beside` it (plots, a diagram) are written with it,
    all or none (archcalc/io.py), after everything was rendered."""
    from archcalc.io import write_files

    files = dict(beside or {})
    if output is not None and output != "-":
        files[output] = text
    if files:
        write_files(files)
        for path in files:
            typer.echo(f"wrote {path}", err=True)
    if output is None or output == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
