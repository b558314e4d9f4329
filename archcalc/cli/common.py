"""What every command shares: error handling (exit codes), option parsing, output."""

from __future__ import annotations

import functools
import sys
from typing import Any, Callable

import typer

from archcalc.errors import ArchcalcError

EXIT_OK, EXIT_MISMATCH, EXIT_BAD_INPUT, EXIT_INTERNAL = 0, 1, 2, 3
BUG_HINT = "this is a bug in archcalc; please report it with the command you ran (add --debug for the traceback)"


class State:
    debug = False


def fail(message: str) -> typer.Exit:
    typer.echo(f"archcalc: error: {' '.join(message.split())}", err=True)
    return typer.Exit(EXIT_BAD_INPUT)


def handle_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Bad input -> one line on stderr and exit 2; anything unexpected -> one line and exit 3."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except ArchcalcError as exc:
            if State.debug:
                raise
            raise fail(str(exc)) from None
        except (typer.Exit, typer.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            typer.echo("archcalc: interrupted", err=True)
            raise typer.Exit(130) from None
        except RecursionError:
            if State.debug:
                raise
            typer.echo(f"archcalc: internal error: recursion too deep; {BUG_HINT}", err=True)
            raise typer.Exit(EXIT_INTERNAL) from None
        except Exception as exc:  # noqa: BLE001 - the contract: never a traceback without --debug
            if State.debug:
                raise
            detail = " ".join(str(exc).split())[:300]
            typer.echo(f"archcalc: internal error: {type(exc).__name__}: {detail}; {BUG_HINT}", err=True)
            raise typer.Exit(EXIT_INTERNAL) from None

    return wrapper


def parse_shape(text: str | None) -> tuple[int, ...] | None:
    """'3x224x224' -> (3, 224, 224); '784' -> (784,)."""
    if text is None:
        return None
    parts = text.lower().replace("×", "x").split("x")
    try:
        shape = tuple(int(part) for part in parts)
    except ValueError:
        raise ArchcalcError(f"--input takes sizes like 3x224x224 or 784, got {text!r}") from None
    if not 1 <= len(shape) <= 3 or any(size <= 0 for size in shape):
        raise ArchcalcError(f"--input takes one to three positive sizes like 3x224x224, got {text!r}")
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
