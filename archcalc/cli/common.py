"""What every command shares: error handling (exit codes), limit flags, option parsing, output.

A command that loads specs takes the limit flags with one decorator line:

    @app.command()
    @handle_errors
    @limit_options
    def report(spec: str = ..., limits: Limits = None) -> None:  # filled in from --max-layers etc.
        graph = load_spec(spec, limits=limits)
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import os
import sys
import traceback
from typing import Any, Callable

import typer

from archcalc.errors import ArchcalcError
from archcalc.limits import DEFAULT_LIMITS, LIMIT_HELP, Limits, flag

EXIT_OK, EXIT_MISMATCH, EXIT_BAD_INPUT, EXIT_INTERNAL = 0, 1, 2, 3
BUG_HINT = "this is a bug in archcalc; please report it with the command you ran (add --debug for the traceback)"


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
        except BrokenPipeError:  # `archcalc report x | head`: the reader left; nothing to report
            _silence_stdout()
            raise typer.Exit(EXIT_OK) from None
        except Exception as exc:  # noqa: BLE001 - the contract: never a traceback without --debug
            _traceback_if_debug()
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


def limit_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Give a command one --max-... option per field of `Limits`; it receives them as `limits`.

    The command declares a parameter `limits`; typer sees the options in its place.
    """
    signature = inspect.signature(command)
    if "limits" not in signature.parameters:
        raise TypeError(f"{command.__name__} needs a `limits` parameter to use @limit_options")
    options = [
        inspect.Parameter(item.name, inspect.Parameter.KEYWORD_ONLY, annotation=int,
                          default=typer.Option(getattr(DEFAULT_LIMITS, item.name), flag(item.name),
                                               help=LIMIT_HELP[item.name], rich_help_panel="Limits"))
        for item in dataclasses.fields(Limits)
    ]  # fmt: skip
    kept = [p for p in signature.parameters.values() if p.name != "limits"]
    positional = [p for p in kept if p.kind is not inspect.Parameter.KEYWORD_ONLY]
    keyword = [p for p in kept if p.kind is inspect.Parameter.KEYWORD_ONLY]

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        values = {item.name: kwargs.pop(item.name) for item in dataclasses.fields(Limits) if item.name in kwargs}
        return command(*args, limits=Limits(**values), **kwargs)

    wrapper.__signature__ = signature.replace(parameters=positional + keyword + options)  # type: ignore[attr-defined]
    return wrapper


def parse_shape(text: str | None) -> tuple[int, ...] | None:
    """'3x224x224' -> (3, 224, 224); '784' -> (784,); up to four sizes ('3x16x112x112' for video)."""
    if text is None:
        return None
    parts = text.lower().replace("×", "x").split("x")
    try:
        shape = tuple(int(part) for part in parts)
    except ValueError:
        raise ArchcalcError(f"--input takes sizes like 3x224x224 or 784, got {text!r}") from None
    if not 1 <= len(shape) <= 4 or any(size <= 0 for size in shape):
        raise ArchcalcError(f"--input takes one to four positive sizes like 3x224x224, got {text!r}")
    return shape


def emit(text: str, output: str | None) -> None:
    """Print, or write atomically to `output`."""
    if output is None or output == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    from archcalc.io import write_atomic

    write_atomic(output, text)
    typer.echo(f"wrote {output}", err=True)
