"""`archcalc sweep SPEC --set a=1,2 --set b=3,4`: totals for every combination, and a plot."""

from __future__ import annotations

from typing import List, Optional

import typer

from archcalc.cli.application import app
from archcalc.cli.common import emit, handle_errors
from archcalc.cli.sources import source_options
from archcalc.graph_source import GraphSource


@app.command()
@handle_errors
@source_options("grid")
def sweep(
    source: GraphSource,
    sweep_sets: Optional[List[str]],
    format: str = typer.Option("table", "--format", "-f", help="table, csv, markdown or json"),
    output: Optional[str] = typer.Option(None, "--output", "-o", help="Write here (atomically) instead of stdout."),
    plot: Optional[str] = typer.Option(None, "--plot", help="Also write a PNG of params and MACs to this file."),
    batch: int = typer.Option(1, "--batch", help="Batch size: scales MACs, FLOPs and activations."),
    dtype: str = typer.Option("float32", "--dtype", help="Element type for memory."),
    exact: bool = typer.Option(False, "--exact", help="Table format: print exact integers, not 1.23 M."),
    width: Optional[int] = typer.Option(None, "--width", help="Table format: fit this many columns (default: "
                                        "the terminal's; unlimited when piped)."),
) -> None:
    """Totals for every combination of variable values (the cartesian product of the --set lists)."""
    from archcalc.analysis.sweep import parse_sweep_sets, run_sweep
    from archcalc.errors import ArchcalcError
    from archcalc.render.sweep import render_sweep

    if plot is not None and not plot.lower().endswith(".png"):
        raise ArchcalcError(f"--plot writes a PNG; give a file name ending in .png, got {plot!r}")
    from archcalc.cli.terminal import StderrProgress, table_width, use_color

    columns, grid = table_width(output, width), parse_sweep_sets(sweep_sets, source.limits)
    with StderrProgress() as progress:
        result = run_sweep(source, grid, batch, dtype, progress)
    text = render_sweep(result, format, exact, columns, use_color(output))
    plots = {}
    if plot is not None:
        from archcalc.render.plots import sweep_png

        plots[plot] = sweep_png(f"{result.name}: params and MACs", result.variables,
                                [point.row() for point in result.points])  # fmt: skip
    emit(text, output, plots)
