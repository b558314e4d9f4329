"""Plots of a BenchReport as PNG bytes (matplotlib, Agg backend, imported only here).

One run: each layer's share of the time next to its share of the FLOPs (where FLOPs mislead).
Several runs (dtypes, a swept variable): the end-to-end latency with its IQR, against the swept
value (one line per dtype, the analytic GFLOPs dashed on a second axis) or per dtype (bars); and
beside it the time share of each layer category per run.
"""

from __future__ import annotations

import io

from archcalc.bench.results import BenchReport, BenchRun


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _latency_ms(run: BenchRun) -> tuple[float, float, float]:
    t = run.summary.end_to_end
    return t.median * 1e3, (t.median - t.q1) * 1e3, (t.q3 - t.median) * 1e3


def _layer_shares(plt, run: BenchRun):
    height = max(3.0, 0.22 * len(run.layers) + 1.2)
    figure, axis = plt.subplots(figsize=(8, height))
    positions = range(len(run.layers))
    axis.barh([p - 0.2 for p in positions], [100 * l.time_share for l in run.layers], 0.4, label="time share")
    axis.barh([p + 0.2 for p in positions], [100 * l.flop_share for l in run.layers], 0.4, label="FLOP share")
    axis.set_yticks(list(positions), [l.name for l in run.layers], fontsize=7)
    axis.invert_yaxis()
    axis.set_xlabel("% of the sum over layers")
    axis.set_title(f"{run.name} ({run.label}): time vs FLOPs per layer")
    axis.legend()
    return figure


def _latency(axis, report: BenchReport) -> None:
    runs = report.runs
    dtypes = list(dict.fromkeys(run.dtype for run in runs))
    if report.sweep_variable:
        values = list(dict.fromkeys(str(run.sweep[report.sweep_variable]) for run in runs))
        for dtype in dtypes:
            points = [run for run in runs if run.dtype == dtype]
            medians, below, above = zip(*(_latency_ms(run) for run in points))
            axis.errorbar(range(len(points)), medians, yerr=[below, above], marker="o", capsize=3, label=dtype)
        axis.set_xticks(range(len(values)), values)
        axis.set_xlabel(report.sweep_variable)
        flops = axis.twinx()
        first = [run for run in runs if run.dtype == dtypes[0]]
        flops.plot(range(len(first)), [run.flops / 1e9 for run in first], "k--", alpha=0.5, label="GFLOPs (analytic)")
        flops.set_ylabel("GFLOPs (dashed)")
        axis.legend(loc="upper left")
    else:
        medians, below, above = zip(*(_latency_ms(run) for run in runs))
        axis.bar(range(len(runs)), medians, yerr=[below, above], capsize=4)
        axis.set_xticks(range(len(runs)), [run.label for run in runs])
    axis.set_ylabel("end-to-end latency (ms, median and IQR)")
    axis.set_ylim(bottom=0)


def _category_shares(axis, report: BenchReport) -> None:
    categories = list(dict.fromkeys(c.category for run in report.runs for c in run.summary.categories))
    bottoms = [0.0] * len(report.runs)
    for category in categories:
        shares = [next((100 * c.time_share for c in run.summary.categories if c.category == category), 0.0)
                  for run in report.runs]  # fmt: skip
        axis.bar(range(len(report.runs)), shares, bottom=bottoms, label=category)
        bottoms = [b + s for b, s in zip(bottoms, shares)]
    axis.set_xticks(range(len(report.runs)), [run.label for run in report.runs], rotation=30, ha="right", fontsize=8)
    axis.set_ylabel("% of the time, by layer category")
    axis.legend(fontsize=7)


def render_plot(report: BenchReport) -> bytes:
    plt = _pyplot()
    if len(report.runs) == 1:
        figure = _layer_shares(plt, report.runs[0])
    else:
        figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
        _latency(left, report)
        _category_shares(right, report)
        m = report.machine
        figure.suptitle(f"{report.runs[0].name} on {m.cpu}, {m.device}, {m.threads} thread(s), torch {m.torch}")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    plt.close(figure)
    return buffer.getvalue()
