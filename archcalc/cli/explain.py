"""`archcalc explain SPEC [LAYER]`: each formula of a layer with the numbers filled in, or the totals'."""

from __future__ import annotations

from typing import List, Optional

import typer

from archcalc.cli.application import app
from archcalc.cli.common import emit, handle_errors, parse_shape


@app.command()
@handle_errors
def explain(
    spec: str = typer.Argument(..., help="A spec file or a built-in name (see `archcalc zoo`)."),
    layer: Optional[str] = typer.Argument(None, help="A layer name (layer1.0.conv2); omit it for the totals."),
    format: str = typer.Option("text", "--format", "-f", help="text, markdown or json"),
    output: Optional[str] = typer.Option(None, "--output", "-o", help="Write here (atomically) instead of stdout."),
    input: Optional[str] = typer.Option(None, "--input", help="Override the input shape: CxHxW, CxL or F."),
    set_: Optional[List[str]] = typer.Option(None, "--set", help="Override a variable: name=value (repeatable)."),
    batch: int = typer.Option(1, "--batch", help="Batch size: scales MACs, FLOPs and activations."),
    dtype: str = typer.Option("float32", "--dtype", help="Element type for the memory formulas."),
) -> None:
    """Show every formula of one layer (shape, params, MACs, FLOPs, connections, receptive field) with
    the numbers filled in; without LAYER, how the totals add up and the heaviest layers."""
    from archcalc.analysis import analyse
    from archcalc.analysis.explain import explain_layer, explain_totals
    from archcalc.render.explain import render_explanation
    from archcalc.spec import load_spec, parse_overrides

    graph = load_spec(spec, parse_overrides(set_), input_shape=parse_shape(input))
    if layer is None:
        item = explain_totals(graph, batch=batch, dtype=dtype)
    else:
        analyse(graph, batch=batch, dtype=dtype)  # validates batch and dtype as report does
        item = explain_layer(graph, layer, batch=batch)
    emit(render_explanation(item, format), output)
