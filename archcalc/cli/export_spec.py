"""`archcalc export-spec`: write a spec (YAML) for a PyTorch model (--module) or a spec, with blocks."""

from __future__ import annotations

from typing import Optional

import typer

from archcalc.cli.application import app
from archcalc.cli.common import emit, handle_errors
from archcalc.cli.sources import print_notes, source_options
from archcalc.graph_source import GraphSource


@app.command("export-spec")
@handle_errors
@source_options()
def export_spec(
    source: GraphSource,
    output: Optional[str] = typer.Option(None, "--output", "-o", help="Write here (atomically) instead of stdout."),
    name: Optional[str] = typer.Option(None, "--name", help="The spec's name (default: the model class)."),
) -> None:
    """Write a spec that loads back to the same graph; repeated submodules become shared blocks."""
    from archcalc.spec.export import export_spec as write_spec

    loaded = source.load()
    print_notes(loaded.notes)
    graph, labels = loaded.graph, loaded.labels
    if name:
        graph.name = name
    emit(write_spec(graph, labels), output)
