"""`archcalc bench SPEC`: measured time per layer next to the analytic counts (see docs/bench.md)."""

from __future__ import annotations

from typing import List, Optional

import typer

from archcalc.cli.application import app
from archcalc.cli.common import emit, handle_errors
from archcalc.cli.sources import source_options
from archcalc.graph_source import GraphSource


@app.command()
@handle_errors
@source_options()
def bench(
    source: GraphSource,
    format: str = typer.Option("table", "--format", "-f", help="table, markdown, csv or json"),
    output: Optional[str] = typer.Option(None, "--output", "-o", help="Write here (atomically) instead of stdout."),
    sweep: Optional[str] = typer.Option(None, "--sweep", help="Time each value of a variable: name=v1,v2,..."),
    batch: int = typer.Option(1, "--batch", help="Batch size of the timed forward."),
    dtype: str = typer.Option("float32", "--dtype", help="float32, float16, bfloat16, float64, or a comma list."),
    device: str = typer.Option("cpu", "--device", help="cpu, cuda, cuda:N or mps."),
    threads: Optional[int] = typer.Option(None, "--threads", help="Intra-op CPU threads (default: torch's)."),
    warmup: int = typer.Option(3, "--warmup", help="Untimed rounds first."),
    repeats: int = typer.Option(20, "--repeats", help="Timed rounds; each times every layer and the forward once."),
    plot: Optional[str] = typer.Option(None, "--plot", help="Also draw the results into this PNG file."),
    exact: bool = typer.Option(False, "--exact", help="Table format: print exact MACs and FLOPs."),
) -> None:
    """Time every layer and the whole forward on a real module; set the times against MACs and FLOPs."""
    from archcalc.bench import BenchSettings, bench_spec, parse_dtypes, parse_sweep
    from archcalc.render.bench import FORMATS, render_bench
    from archcalc.errors import ArchcalcError

    if format not in FORMATS:
        raise ArchcalcError(f"unknown format {format!r}; choose from {', '.join(FORMATS)}")
    if plot is not None and not plot.lower().endswith(".png"):
        raise ArchcalcError(f"--plot writes a PNG file; give a name ending in .png, got {plot!r}")
    from archcalc.io import check_target

    for target in (output, plot):
        if target not in (None, "-"):
            check_target(target)  # fail before minutes of timing, not after
    from archcalc.cli.terminal import StderrProgress, table_width

    with StderrProgress() as progress:
        result = bench_spec(source, batch=batch, dtypes=parse_dtypes(dtype), device=device, threads=threads,
                            sweep=parse_sweep(sweep), settings=BenchSettings(warmup=warmup, repeats=repeats),
                            progress=progress)  # fmt: skip
    plots = {}
    if plot is not None:
        from archcalc.render.bench_plot import render_plot

        plots[plot] = render_plot(result)
    emit(render_bench(result, format, exact_counts=exact, width=table_width(output, None)), output, plots)
