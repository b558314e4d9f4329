"""`archcalc report SPEC` (or `--module FILE.py:CALLABLE`): every layer's shape and counts, and the totals."""

from __future__ import annotations

from typing import List, Optional

import typer

from archcalc.cli.app import app
from archcalc.cli.common import emit, handle_errors
from archcalc.cli.sources import INPUT_HELP, SPEC_HELP, load_graph, module_option

FORMAT_HELP = "table, csv, markdown or json"


@app.command()
@handle_errors
def report(
    spec: Optional[str] = typer.Argument(None, help=SPEC_HELP),
    module: Optional[str] = module_option(),
    format: str = typer.Option("table", "--format", "-f", help=FORMAT_HELP),
    output: Optional[str] = typer.Option(None, "--output", "-o", help="Write here (atomically) instead of stdout."),
    input: Optional[str] = typer.Option(None, "--input", help=INPUT_HELP),
    set_: Optional[List[str]] = typer.Option(None, "--set", help="Override a variable: name=value (repeatable)."),
    batch: int = typer.Option(1, "--batch", help="Batch size: scales MACs, FLOPs and activations."),
    dtype: str = typer.Option("float32", "--dtype", help="Element type for memory: float32, float16, ..."),
    exact: bool = typer.Option(False, "--exact", help="Table format: print exact integers, not 1.23 M."),
) -> None:
    """Report shapes, params, MACs, FLOPs, connections, memory and receptive fields, per layer."""
    from archcalc.analysis import analyse
    from archcalc.render import render

    graph, _ = load_graph(spec, module, input, set_)
    text = render(analyse(graph, batch=batch, dtype=dtype), format, exact=exact)
    emit(text, output)
