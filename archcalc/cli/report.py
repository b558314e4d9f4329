"""`archcalc report SPEC` (or `--module FILE.py:CALLABLE`): every layer's shape and counts, and the totals;
`--train` adds training cost."""

from __future__ import annotations

from typing import Optional

import typer

from archcalc.cli.application import app
from archcalc.cli.common import emit, handle_errors
from archcalc.cli.sources import print_notes, source_options
from archcalc.graph_source import GraphSource

FORMAT_HELP = "table, csv, markdown or json"


@app.command()
@handle_errors
@source_options()
def report(
    source: GraphSource,
    format: str = typer.Option("table", "--format", "-f", help=FORMAT_HELP),
    output: Optional[str] = typer.Option(None, "--output", "-o", help="Write here (atomically) instead of stdout."),
    batch: int = typer.Option(1, "--batch", help="Batch size: scales MACs, FLOPs and activations."),
    dtype: str = typer.Option("float32", "--dtype", help="Element type for memory: float32, float16, ..."),
    exact: bool = typer.Option(False, "--exact", help="Table format: print exact integers, not 1.23 M."),
    train: bool = typer.Option(False, "--train", help="Add training cost: backward MACs/FLOPs, epochs, memory."),
    dataset_size: Optional[int] = typer.Option(None, "--dataset-size", help="With --train: samples per epoch."),
    optimizer: Optional[str] = typer.Option(None, "--optimizer", help="With --train: sgd (default), momentum, adam, adamw."),
    epochs: Optional[int] = typer.Option(None, "--epochs", help="With --train: epochs for the total cost (1)."),
    diagram: Optional[str] = typer.Option(None, "--diagram", help="Markdown: mermaid (default), dot or none."),
    plots: bool = typer.Option(True, "--plots/--no-plots", help="Markdown to a file: write PNG plots beside it."),
    convention: Optional[str] = typer.Option(None, "--convention", help="Also count as a peer tool does: archcalc, "
                                             "fvcore, ptflops, thop, torchinfo or torch (see `archcalc conventions`)."),
) -> None:
    """Report shapes, params, MACs, FLOPs, connections, memory and receptive fields, per layer."""
    from archcalc.analysis import analyse
    from archcalc.errors import ArchcalcError
    from archcalc.render import render

    loaded = source.load()
    print_notes(loaded.notes)
    graph = loaded.graph
    plan = None
    if train:
        from archcalc.analysis import TrainingPlan

        plan = TrainingPlan(optimizer or "sgd", dataset_size, 1 if epochs is None else epochs)
    else:
        given = [name for name, value in (("--dataset-size", dataset_size), ("--optimizer", optimizer),
                                          ("--epochs", epochs)) if value is not None]  # fmt: skip
        if given:
            raise ArchcalcError(f"{given[0]} applies to training cost; add --train")
    if diagram is not None and format != "markdown":
        raise ArchcalcError("--diagram applies to --format markdown")
    result = analyse(graph, batch=batch, dtype=dtype, training=plan, convention=convention)
    attachments = None
    if format == "markdown":
        from archcalc.io import write_atomic
        from archcalc.render.document import beside, check_diagram

        diagram = diagram or "mermaid"
        check_diagram(diagram)
        if output not in (None, "-"):
            attachments, files = beside(result, output, diagram, plots)
            for path, data in files.items():
                write_atomic(path, data)
                typer.echo(f"wrote {path}", err=True)
        else:
            from archcalc.render.markdown import Attachments

            attachments = Attachments(diagram=diagram)
    emit(render(result, format, exact=exact, attachments=attachments), output)
