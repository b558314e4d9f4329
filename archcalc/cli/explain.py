"""`archcalc explain SPEC [LAYER]`: each formula of a layer with the numbers filled in, or the totals'."""

from __future__ import annotations

from typing import Optional

import typer

from archcalc.cli.application import app
from archcalc.cli.common import emit, handle_errors
from archcalc.cli.sources import print_notes, source_options
from archcalc.graph_source import GraphSource


@app.command()
@handle_errors
@source_options(spec_or="layer")
def explain(
    source: GraphSource,
    layer: Optional[str] = typer.Argument(None, help="A layer (layer1.0.conv2) or a block (layer1.0, "
                                          "features.denseblock1); omit it for the totals."),
    format: str = typer.Option("text", "--format", "-f", help="text, markdown or json"),
    output: Optional[str] = typer.Option(None, "--output", "-o", help="Write here (atomically) instead of stdout."),
    batch: int = typer.Option(1, "--batch", help="Batch size: scales MACs, FLOPs and activations."),
    dtype: str = typer.Option("float32", "--dtype", help="Element type for the memory formulas."),
) -> None:
    """Show every formula of one layer (shape, params, MACs, FLOPs, connections, receptive field) with
    the numbers filled in; for a block, its subtotals and how its units connect; without LAYER, how the
    totals add up and the heaviest layers."""
    from archcalc.analysis import analyse
    from archcalc.analysis.explain import explain_layer, explain_totals
    from archcalc.render.explain import render_explanation

    loaded = source.load()
    print_notes(loaded.notes)
    graph = loaded.graph
    if layer is None:
        item = explain_totals(graph, batch=batch, dtype=dtype)
    elif all(node.name != layer for node in graph.nodes) and any(n.name.startswith(layer + ".") for n in graph.nodes):
        from archcalc.analysis.block_explain import explain_block

        item = explain_block(analyse(graph, batch=batch, dtype=dtype), layer)
    else:
        analyse(graph, batch=batch, dtype=dtype)  # validates batch and dtype as report does
        item = explain_layer(graph, layer, batch=batch)
    emit(render_explanation(item, format), output)
