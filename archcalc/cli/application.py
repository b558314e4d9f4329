"""The typer application. Command modules register themselves on it; see archcalc/cli/__init__.py."""

from __future__ import annotations

import sys
from typing import Any

import typer
from typer.core import TyperGroup

from archcalc.cli.common import EXIT_BAD_INPUT, State


class OneLineErrors(TyperGroup):
    """Usage errors (unknown option, bad value) print one line and exit 2, like every other bad input."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        from typer.core import _click

        click_exceptions = _click.exceptions

        kwargs["standalone_mode"] = False
        try:
            code = super().main(*args, **kwargs)
        except click_exceptions.NoArgsIsHelpError as exc:
            typer.echo(exc.ctx.get_help() if exc.ctx else "archcalc --help", err=False)
            sys.exit(0)
        except click_exceptions.ClickException as exc:
            where = f"{exc.ctx.command_path}: " if getattr(exc, "ctx", None) is not None else ""
            message = " ".join(exc.format_message().split())
            typer.echo(f"archcalc: error: {where}{message} (see --help)", err=True)
            sys.exit(EXIT_BAD_INPUT)
        except typer.Abort:  # typer 0.28 bundles its own click, whose exceptions module has no Abort
            typer.echo("archcalc: aborted", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


app = typer.Typer(
    name="archcalc",
    cls=OneLineErrors,
    add_completion=True,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    help="Exact shapes, params, MACs, FLOPs, connections, memory and receptive fields of network specs.",
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            number = version("archcalc")
        except PackageNotFoundError:  # running from a source tree that was not installed
            from archcalc import __version__ as number
        typer.echo(f"archcalc {number}")
        raise typer.Exit()


@app.callback()
def _global_options(
    debug: bool = typer.Option(False, "--debug", help="Show the traceback of internal errors (before the command: "
                               "archcalc --debug report ...)."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print archcalc's version and exit."),
) -> None:
    State.debug = debug
