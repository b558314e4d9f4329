"""`archcalc compare SPEC SPEC ...`: totals side by side with ratios to the first; `--by stage`."""

from __future__ import annotations

from typing import List, Optional

import typer

from archcalc.cli.application import app
from archcalc.cli.common import emit, handle_errors
from archcalc.cli.sources import source_options
from archcalc.graph_source import SourceOptions


@app.command()
@handle_errors
@source_options("many")
def compare(
    specs: List[str],
    options: SourceOptions,
    format: str = typer.Option("table", "--format", "-f", help="table, csv, markdown or json"),
    output: Optional[str] = typer.Option(None, "--output", "-o", help="Write here (atomically) instead of stdout."),
    by: Optional[str] = typer.Option(None, "--by", help="'stage': per-stage subtotals, aligned by stage name."),
    batch: int = typer.Option(1, "--batch", help="Batch size: scales MACs, FLOPs and activations."),
    dtype: str = typer.Option("float32", "--dtype", help="Element type for memory."),
    exact: bool = typer.Option(False, "--exact", help="Table format: print exact integers, not 1.23 M."),
) -> None:
    """Compare specs (and a --module model) side by side: params, MACs, FLOPs, connections, activations, memory, final
    receptive field and depth, with exact ratios to the first spec."""
    from archcalc.analysis.compare import compare_reports, load_entries
    from archcalc.errors import ArchcalcError
    from archcalc.render.compare import render_comparison

    if by not in (None, "stage"):
        raise ArchcalcError(f"--by takes 'stage', got {by!r}")
    entries = load_entries(specs, options, batch, dtype)
    emit(render_comparison(compare_reports(entries, by_stage=by == "stage"), format, exact), output)
