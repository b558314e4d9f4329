"""`archcalc compare SPEC SPEC ...`: totals side by side with ratios to the first; `--by stage`."""

from __future__ import annotations

from typing import List, Optional

import typer

from archcalc.cli.application import app
from archcalc.cli.common import emit, handle_errors, parse_shape


@app.command()
@handle_errors
def compare(
    specs: List[str] = typer.Argument(..., help="Specs to compare; give variables per spec as spec:name=value."),
    format: str = typer.Option("table", "--format", "-f", help="table, csv, markdown or json"),
    output: Optional[str] = typer.Option(None, "--output", "-o", help="Write here (atomically) instead of stdout."),
    by: Optional[str] = typer.Option(None, "--by", help="'stage': per-stage subtotals, aligned by stage name."),
    input: Optional[str] = typer.Option(None, "--input", help="Override every spec's input shape: CxHxW."),
    set_: Optional[List[str]] = typer.Option(None, "--set", help="name=value for every spec that has the variable."),
    batch: int = typer.Option(1, "--batch", help="Batch size: scales MACs, FLOPs and activations."),
    dtype: str = typer.Option("float32", "--dtype", help="Element type for memory."),
    exact: bool = typer.Option(False, "--exact", help="Table format: print exact integers, not 1.23 M."),
) -> None:
    """Compare specs side by side: params, MACs, FLOPs, connections, activations, memory, final
    receptive field and depth, with exact ratios to the first spec."""
    from archcalc.analysis.compare import compare_reports, load_entries
    from archcalc.errors import ArchcalcError
    from archcalc.render.compare import render_comparison
    from archcalc.spec import parse_overrides

    if by not in (None, "stage"):
        raise ArchcalcError(f"--by takes 'stage', got {by!r}")
    entries = load_entries(specs, parse_overrides(set_), parse_shape(input), batch, dtype)
    emit(render_comparison(compare_reports(entries, by_stage=by == "stage"), format, exact), output)
