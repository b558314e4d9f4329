"""The rows every bench view shows (terminal table and markdown): shared by render/bench.py and
render/bench_table.py, below both, so that neither imports the other in a cycle."""

from __future__ import annotations

from archcalc.bench.honesty import comparison_note
from archcalc.bench.results import BenchReport, BenchRun, LayerBench, Timing
from archcalc.render.units import exact, human, shape_text


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
        ("load average (1, 5, 15 min)", _load_text(m.load_average, m.load_average_after)),
        ("rounds", f"{s.warmup} warm-up + {s.repeats} timed (each layer once per round, then the whole forward)"),
    ]


def _load_text(before: list[float] | None, after: list[float] | None) -> str:
    if before is None:
        return "not available on this system"
    text = f"{', '.join(f'{v:.2f}' for v in before)} before"
    return text + (f"; {', '.join(f'{v:.2f}' for v in after)} after" if after else "")


def flags_text(layer: LayerBench) -> str:
    """'!' marks for a flagged layer: U unstable, F below the timing floor."""
    return "".join("U" if flag == "unstable" else "F" for flag in layer.flags)


FLAG_LEGEND = "flags: U unstable (IQR above 25% of the median), F below the timing floor (20 µs): rough figures"


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


LAYER_HEADER = ("layer", "type", "median", "IQR", "time %", "FLOP %", "MACs", "FLOPs", "GFLOP/s", "FLOP/B", "faults",
                "flags")  # fmt: skip


def layer_row(layer: LayerBench, exact_counts: bool) -> tuple[str, ...]:
    count = exact if exact_counts else human
    return (layer.name, layer.type, seconds_text(layer.time.median), seconds_text(layer.time.iqr),
            percent(layer.time_share), percent(layer.flop_share), count(layer.macs), count(layer.flops),
            f"{layer.gflops_per_second:.2f}", f"{layer.intensity:.2f}", faults_text(layer.page_faults),
            flags_text(layer))  # fmt: skip


COMPARE_HEADER = ("run", "forward", "IQR", "samples/s", "vs first", "FLOPs", "sum/forward", "Pearson", "Spearman",
                  "note")  # fmt: skip


def compare_rows(report: BenchReport) -> list[tuple[str, ...]]:
    first = report.runs[0].summary.end_to_end.median
    rows = []
    for run in report.runs:
        s = run.summary
        rows.append((run.label, seconds_text(s.end_to_end.median), seconds_text(s.end_to_end.iqr),
                     f"{s.throughput:,.1f}", f"{first / s.end_to_end.median:.2f}x", human(run.flops),
                     f"{s.sum_ratio:.2f}", correlation_text(s.pearson), correlation_text(s.spearman),
                     comparison_note(report.runs[0], run) if run is not report.runs[0] else ""))  # fmt: skip
    return rows
