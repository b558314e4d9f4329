"""`archcalc export-spec`: write a spec (YAML) for a PyTorch model (--module) or a spec, with blocks."""

from __future__ import annotations

from typing import List, Optional

import typer

from archcalc.cli.application import app
from archcalc.cli.common import emit, handle_errors
from archcalc.cli.sources import INPUT_HELP, SPEC_HELP, load_graph, module_option


@app.command("export-spec")
@handle_errors
def export_spec(
    spec: Optional[str] = typer.Argument(None, help=SPEC_HELP),
    module: Optional[str] = module_option(),
    input: Optional[str] = typer.Option(None, "--input", help=INPUT_HELP),
    set_: Optional[List[str]] = typer.Option(None, "--set", help="Override a spec variable: name=value."),
    output: Optional[str] = typer.Option(None, "--output", "-o", help="Write here (atomically) instead of stdout."),
    name: Optional[str] = typer.Option(None, "--name", help="The spec's name (default: the model class)."),
) -> None:
    """Write a spec that loads back to the same graph; repeated submodules become shared blocks."""
    from archcalc.spec.export import export_spec as write_spec

    graph, labels = load_graph(spec, module, input, set_)
    if name:
        graph.name = name
    emit(write_spec(graph, labels), output)
