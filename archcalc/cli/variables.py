"""`archcalc variables SPEC`: the knobs of a spec (its variables), with defaults and meaning."""

from __future__ import annotations

from typing import Optional

import typer

from archcalc.cli.application import app
from archcalc.cli.common import emit, handle_errors
from archcalc.cli.completion import complete_spec


@app.command()
@handle_errors
def variables(
    spec: str = typer.Argument(..., help="A spec file or a built-in name (see `archcalc zoo`).",
                               autocompletion=complete_spec),
    format: str = typer.Option("table", "--format", "-f", help="table, markdown or json"),
    output: Optional[str] = typer.Option(None, "--output", "-o", help="Write here (atomically) instead of stdout."),
) -> None:
    """List a spec's variables (the knobs --set changes) with their defaults, values and meaning."""
    from archcalc.cli.terminal import table_width
    from archcalc.render.variables import render_variables
    from archcalc.spec.variables_doc import spec_variables

    name, found = spec_variables(spec)
    emit(render_variables(name, found, format, table_width(output, None)), output)
