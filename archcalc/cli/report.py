"""`archcalc report SPEC` (or `--module FILE.py:CALLABLE`): every layer's shape and counts, and the totals;
`--train` adds training cost; a decoder (LLM) gets its LLM section (`--train --tokens 2T` sizes its training)."""

from __future__ import annotations

from typing import Optional

import typer

from archcalc.cli.application import app
from archcalc.cli.common import emit, handle_errors
from archcalc.cli.sources import print_notes, source_options
from archcalc.graph_source import GraphSource

FORMAT_HELP = "table, csv, markdown, json or html"
DEPTH_HELP = ("Block level to show: 1, 2, ... (block subtotals), all (every layer) or auto (the default: every "
              "layer of a small network, blocks of a big one). CSV and JSON list every layer unless given.")  # fmt: skip
MAX_COUNT = 2**63 - 1  # counts beyond any dataset; bigger ones would only make every product meaningless


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
    depth: Optional[str] = typer.Option(None, "--depth", "-d", help=DEPTH_HELP),
    width: Optional[int] = typer.Option(None, "--width", help="Table format: fit this many columns (default: "
                                        "the terminal's; unlimited when piped)."),
    train: bool = typer.Option(False, "--train", help="Add training cost: backward MACs/FLOPs, epochs, memory."),
    dataset_size: Optional[int] = typer.Option(None, "--dataset-size", max=MAX_COUNT,
                                               help="With --train: samples per epoch."),
    optimizer: Optional[str] = typer.Option(None, "--optimizer", help="With --train: sgd (default), momentum, adam, adamw."),
    epochs: Optional[int] = typer.Option(None, "--epochs", max=MAX_COUNT,
                                         help="With --train: epochs for the total cost (1)."),
    tokens: Optional[str] = typer.Option(None, "--tokens", help="With --train, for a decoder (LLM): training "
                                         "tokens D, e.g. 2T, 300B, 1.4e12 (see docs/llm.md)."),
    diagram: Optional[str] = typer.Option(None, "--diagram", help="Markdown: mermaid (default), dot or none."),
    plots: bool = typer.Option(True, "--plots/--no-plots", help="Markdown to a file: write PNG plots beside it."),
    convention: Optional[str] = typer.Option(None, "--convention", help="Also count as a peer tool does: archcalc, "
                                             "fvcore, ptflops, thop, torchinfo or torch (see `archcalc conventions`)."),
) -> None:
    """Report shapes, params, MACs, FLOPs, connections, memory and receptive fields, per layer."""
    from archcalc.analysis import analyse
    from archcalc.errors import ArchcalcError
    from archcalc.cli.terminal import parse_depth, table_width, use_color
    from archcalc.render import render

    level, columns = parse_depth(depth), table_width(output, width)
    loaded = source.load()
    print_notes(loaded.notes)
    graph = loaded.graph
    plan = None
    if train:
        from archcalc.analysis import TrainingPlan

        from archcalc.analysis.llm import parse_tokens

        plan = TrainingPlan(optimizer or "sgd", dataset_size, 1 if epochs is None else epochs,
                            None if tokens is None else parse_tokens(tokens))  # fmt: skip
    else:
        given = [name for name, value in (("--dataset-size", dataset_size), ("--optimizer", optimizer),
                                          ("--epochs", epochs), ("--tokens", tokens)) if value is not None]  # fmt: skip
        if given:
            raise ArchcalcError(f"{given[0]} applies to training cost; add --train")
    if diagram is not None and format != "markdown":
        raise ArchcalcError("--diagram applies to --format markdown")
    result = analyse(graph, batch=batch, dtype=dtype, training=plan, convention=convention)
    attachments, beside_files = None, {}
    if format == "markdown":
        from archcalc.render.document import beside, check_diagram

        diagram = diagram or "mermaid"
        check_diagram(diagram)
        if output not in (None, "-"):
            attachments, beside_files = beside(result, output, diagram, plots)
        else:
            from archcalc.render.markdown import Attachments

            attachments = Attachments(diagram=diagram)
    text = render(result, format, exact=exact, width=columns, color=use_color(output), attachments=attachments,
                  depth=level)  # fmt: skip
    emit(text, output, beside_files)
