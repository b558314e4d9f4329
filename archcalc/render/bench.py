"""BenchReport -> text: table (rich), markdown, csv or json. Torch-free.

Markdown and the rich table share the rows built here; csv and json live in render/bench_export.py.
"""

from __future__ import annotations

from archcalc.bench.results import BenchReport, BenchRun, LayerBench, Timing
from archcalc.errors import ArchcalcError
from archcalc.units import exact, human, shape_text

FORMATS = ("table", "markdown", "csv", "json")


def seconds_text(seconds: float) -> str:
    """3 significant figures in s, ms, µs or ns."""
    for scale, unit in ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs")):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def percent(fraction: float) -> str:
    return f"{100 * fraction:.1f}%"


def correlation_text(value: float | None) -> str:
    return "undefined" if value is None else f"{value:+.2f}"


def faults_text(faults: float | None) -> str:
    return "n/a" if faults is None else f"{faults:g}"


def timing_text(timing: Timing) -> str:
    return f"{seconds_text(timing.median)} (IQR {seconds_text(timing.iqr)})"


def run_title(report: BenchReport, run: BenchRun) -> str:
    return f"{run.name}  {shape_text(run.input_shape)}  batch {run.batch}  {run.label}  on {report.machine.device}"


def machine_rows(report: BenchReport) -> list[tuple[str, str]]:
    m, s = report.machine, report.settings
    return [
        ("CPU", f"{m.cpu} ({m.logical_cores} logical cores)"),
        ("device", m.device if m.device_name == m.device else f"{m.device} ({m.device_name})"),
        ("threads", str(m.threads)),
        ("torch / python", f"{m.torch} / {m.python}"),
        ("platform", m.platform),
        ("host, measured at", f"{m.hostname}, {m.measured_at}"),
        ("rounds", f"{s.warmup} warm-up + {s.repeats} timed (each layer once per round, then the whole forward)"),
    ]


def summary_rows(run: BenchRun) -> list[tuple[str, str]]:
    s = run.summary
    over = ", ".join(f"{name} ({percent(run.layer(name).time_share)} of time, {percent(run.layer(name).flop_share)}"
                     " of FLOPs)" for name in s.over_share)  # fmt: skip
    return [
        ("end-to-end forward", timing_text(s.end_to_end)),
        ("throughput", f"{s.throughput:,.1f} samples/s (sum over layers: {s.layer_sum_throughput:,.1f})"),
        ("sum over layers", f"{seconds_text(s.layer_sum)} ({s.sum_ratio:.2f} x the forward, median over rounds)"),
        ("page faults per forward", f"{faults_text(s.page_faults)} (median; per layer in the last column)"),
        ("MACs / FLOPs", f"{human(run.macs)} / {human(run.flops)}"),
        ("achieved", f"{run.flops / s.end_to_end.median / 1e9:.2f} GFLOP/s end to end"),
        ("FLOPs vs time over layers", f"Pearson {correlation_text(s.pearson)}, Spearman {correlation_text(s.spearman)}"),
        ("time share above FLOP share", over or "none"),
    ]


CATEGORY_HEADER = ("category", "layers", "time", "time share", "FLOP share")


def category_rows(run: BenchRun) -> list[tuple[str, ...]]:
    return [(c.category, str(c.layers), seconds_text(c.seconds), percent(c.time_share), percent(c.flop_share))
            for c in run.summary.categories]  # fmt: skip


LAYER_HEADER = ("layer", "type", "median", "IQR", "time %", "FLOP %", "MACs", "FLOPs", "GFLOP/s", "FLOP/B", "faults")


def layer_row(layer: LayerBench, exact_counts: bool) -> tuple[str, ...]:
    count = exact if exact_counts else human
    return (layer.name, layer.type, seconds_text(layer.time.median), seconds_text(layer.time.iqr),
            percent(layer.time_share), percent(layer.flop_share), count(layer.macs), count(layer.flops),
            f"{layer.gflops_per_second:.2f}", f"{layer.intensity:.2f}", faults_text(layer.page_faults))  # fmt: skip


COMPARE_HEADER = ("run", "forward", "IQR", "samples/s", "vs first", "FLOPs", "sum/forward", "Pearson", "Spearman")


def compare_rows(report: BenchReport) -> list[tuple[str, ...]]:
    first = report.runs[0].summary.end_to_end.median
    rows = []
    for run in report.runs:
        s = run.summary
        rows.append((run.label, seconds_text(s.end_to_end.median), seconds_text(s.end_to_end.iqr),
                     f"{s.throughput:,.1f}", f"{first / s.end_to_end.median:.2f}x", human(run.flops),
                     f"{s.sum_ratio:.2f}", correlation_text(s.pearson), correlation_text(s.spearman)))  # fmt: skip
    return rows


def _md_row(cells) -> str:
    return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"


def _md_table(header, rows, right_from: int = 1) -> list[str]:
    align = ["---" if i < right_from else "---:" for i in range(len(header))]
    return [_md_row(header), _md_row(align)] + [_md_row(row) for row in rows]


def render_markdown(report: BenchReport) -> str:
    lines = [f"# bench: {report.runs[0].name}", "", "Measured on (figures from another machine do not compare):", ""]
    lines += _md_table(("machine", ""), machine_rows(report), right_from=2)
    for run in report.runs:
        lines += ["", f"## {run_title(report, run)}", ""]
        lines += _md_table(("summary", ""), summary_rows(run), right_from=2)
        lines += ["", "By layer category:", ""]
        lines += _md_table(CATEGORY_HEADER, category_rows(run))
        lines += ["", "Layers (time: median over rounds; GFLOP/s achieved; FLOP/B: arithmetic intensity; faults: "
                  "minor page faults per call):", ""]  # fmt: skip
        lines += _md_table(LAYER_HEADER, [(f"`{r[0]}`",) + r[1:] for r in (layer_row(l, True) for l in run.layers)],
                           right_from=2)  # fmt: skip
    if len(report.runs) > 1:
        lines += ["", "## Comparison", ""] + _md_table(COMPARE_HEADER, compare_rows(report))
    return "\n".join(lines) + "\n"


def render_bench(report: BenchReport, fmt: str, exact_counts: bool = False, width: int | None = None) -> str:
    if fmt == "markdown":
        return render_markdown(report)
    if fmt == "table":
        from archcalc.render.bench_table import render_table

        return render_table(report, exact_counts=exact_counts, width=width)
    if fmt in ("csv", "json"):
        from archcalc.render.bench_export import render_csv, render_json

        return render_csv(report) if fmt == "csv" else render_json(report)
    raise ArchcalcError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
