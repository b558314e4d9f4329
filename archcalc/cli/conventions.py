"""`archcalc conventions SPEC`: every peer tool's headline number for the spec, side by side, each as a
sum of named items (conv/linear MACs, bias, norm, activation, pooling, elementwise, other)."""

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
def conventions(
    source: GraphSource,
    format: str = typer.Option("table", "--format", "-f", help="table, markdown, csv or json"),
    output: Optional[str] = typer.Option(None, "--output", "-o", help="Write here (atomically) instead of stdout."),
    batch: int = typer.Option(1, "--batch", help="Batch size (the tools count the whole batch)."),
    exact: bool = typer.Option(False, "--exact", help="Table format: print exact integers, not 1.23 G."),
    peers: bool = typer.Option(False, "--peers", help="Also run the installed tools on archcalc's torch build of "
                                                      "the spec and show their own totals (slow: real arithmetic)."),
) -> None:
    """Compare the counting conventions of archcalc, fvcore, ptflops, thop, torchinfo and torch."""
    from archcalc.analysis import analyse
    from archcalc.conventions import count_all
    from archcalc.errors import ArchcalcError
    from archcalc.render.conventions import CONVENTION_FORMATS, render_conventions

    if format not in CONVENTION_FORMATS:
        raise ArchcalcError(f"conventions --format takes {', '.join(CONVENTION_FORMATS)}, got {format!r}")
    loaded = source.load()
    print_notes(loaded.notes)
    graph = loaded.graph
    analysis = analyse(graph, batch=batch)
    results = count_all(graph, analysis)
    measured = None
    if peers:
        from archcalc.cli.terminal import StderrProgress
        from archcalc.conventions.peers import measure_all

        with StderrProgress() as progress:
            measured = measure_all(graph, analysis, progress)
    emit(render_conventions(analysis, results, format, exact, measured), output)
    differ = [r.convention for r in results if isinstance((measured or {}).get(r.convention), int)
              and measured[r.convention] != r.total]  # fmt: skip
    if differ:
        typer.echo(f"archcalc: the tools' own totals differ from the reproduction: {', '.join(differ)}", err=True)
        raise typer.Exit(EXIT_MISMATCH)
