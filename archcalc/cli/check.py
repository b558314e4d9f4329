"""`archcalc check SPEC`: prove every layer's numbers against real torch modules (see docs/check.md)."""

from __future__ import annotations

from typing import Optional

import typer

from archcalc.cli.application import app
from archcalc.cli.common import EXIT_MISMATCH, emit, handle_errors
from archcalc.cli.sources import print_notes, source_options
from archcalc.graph_source import GraphSource


@app.command()
@handle_errors
@source_options()
def check(
    source: GraphSource,
    format: str = typer.Option("table", "--format", "-f", help="table or json"),
    output: Optional[str] = typer.Option(None, "--output", "-o", help="Write here (atomically) instead of stdout."),
    device: str = typer.Option("meta", "--device", help="meta (no memory, the default) or cpu (real tensors)."),
    rf_budget: int = typer.Option(10**10, "--rf-budget", min=0,
                                  help="Work allowed for the receptive-field probes (MACs + elements); 0 skips them."),
    rf_all: bool = typer.Option(False, "--rf-all", help="Probe the receptive field of every layer, whatever it costs."),
    fvcore: bool = typer.Option(True, "--fvcore/--no-fvcore", help="Run the fvcore witness (one cpu inference)."),
    width: Optional[int] = typer.Option(None, "--width", help="Table format: fit this many columns (default: "
                                        "the terminal's; unlimited when piped)."),
) -> None:
    """Check shapes, params, MACs, FLOPs and receptive fields against torch; exit 1 if anything differs."""
    from archcalc.check import CheckOptions
    from archcalc.check import check as run_check
    from archcalc.render.check_out import FORMATS, render_check

    if format not in FORMATS:
        from archcalc.errors import ArchcalcError

        raise ArchcalcError(f"check --format takes {' or '.join(FORMATS)}, got {format!r}")
    from archcalc.cli.terminal import StderrProgress, table_width, use_color

    columns = table_width(output, width)
    loaded = source.load()
    print_notes(loaded.notes)
    graph = loaded.graph
    with StderrProgress() as progress:
        options = CheckOptions(device=device, fvcore=fvcore, rf_budget=None if rf_all else rf_budget, progress=progress)
        report = run_check(graph, options)
    emit(render_check(report, format, width=columns, color=use_color(output)), output)
    if not report.agrees:
        raise typer.Exit(EXIT_MISMATCH)
