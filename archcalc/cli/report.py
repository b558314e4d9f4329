"""`archcalc report SPEC`: every layer's shape and counts, and the totals."""

from __future__ import annotations

from typing import List, Optional

import typer

from archcalc.cli.app import app
from archcalc.cli.common import emit, handle_errors, parse_shape

FORMAT_HELP = "table, csv, markdown or json"


@app.command()
@handle_errors
def report(
    spec: str = typer.Argument(..., help="A spec file (YAML or JSON) or a built-in name (see `archcalc zoo`)."),
    format: str = typer.Option("table", "--format", "-f", help=FORMAT_HELP),
    output: Optional[str] = typer.Option(None, "--output", "-o", help="Write here (atomically) instead of stdout."),
    input: Optional[str] = typer.Option(None, "--input", help="Override the input shape: CxHxW, CxL or F."),
    set_: Optional[List[str]] = typer.Option(None, "--set", help="Override a variable: name=value (repeatable)."),
    batch: int = typer.Option(1, "--batch", help="Batch size: scales MACs, FLOPs and activations."),
    dtype: str = typer.Option("float32", "--dtype", help="Element type for memory: float32, float16, ..."),
    exact: bool = typer.Option(False, "--exact", help="Table format: print exact integers, not 1.23 M."),
    convention: Optional[str] = typer.Option(None, "--convention", help="Also count as a peer tool does: archcalc, "
                                             "fvcore, ptflops, thop, torchinfo or torch (see `archcalc conventions`)."),
) -> None:
    """Report shapes, params, MACs, FLOPs, connections, memory and receptive fields, per layer."""
    from archcalc.analysis import analyse
    from archcalc.render import render
    from archcalc.spec import load_spec, parse_overrides

    graph = load_spec(spec, parse_overrides(set_), input_shape=parse_shape(input))
    analysis = analyse(graph, batch=batch, dtype=dtype)
    if convention is None:
        text = render(analysis, format, exact=exact)
    else:
        from archcalc.conventions import count_convention
        from archcalc.render.conventions import render_report

        text = render_report(analysis, format, exact, count_convention(graph, analysis, convention))
    emit(text, output)
