"""BenchReport -> csv (one row per layer per run) or json (everything). Exact integers for the counts.

Times are in seconds, floats. Every CSV row repeats the run (dtype, sweep value) and the machine's
device, threads, CPU, torch version and 1-minute load average before the run, so that rows from
different runs or machines stay apart; `flags` holds what makes a layer's time doubtful.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict

from archcalc.bench.results import BenchReport, Timing
from archcalc.units import shape_text

CSV_COLUMNS = ("spec", "dtype", "sweep", "batch", "input", "layer", "type", "category", "macs", "flops",
               "bytes_moved", "median_s", "iqr_s", "q1_s", "q3_s", "best_s", "samples", "time_share", "flop_share",
               "gflops_per_s", "flop_per_byte", "page_faults", "flags", "device", "threads", "cpu", "torch",
               "load_average")  # fmt: skip


def render_csv(report: BenchReport) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    m = report.machine
    for run in report.runs:
        sweep = ";".join(f"{name}={value}" for name, value in run.sweep.items())
        for layer in run.layers:
            t = layer.time
            writer.writerow([run.name, run.dtype, sweep, run.batch, shape_text(run.input_shape), layer.name, layer.type,
                             layer.category, layer.macs, layer.flops, layer.bytes_moved, t.median, t.iqr, t.q1, t.q3,
                             t.best, t.samples, layer.time_share, layer.flop_share, layer.gflops_per_second,
                             layer.intensity, "" if layer.page_faults is None else layer.page_faults,
                             ";".join(layer.flags), m.device, m.threads, m.cpu, m.torch,
                             "" if m.load_average is None else m.load_average[0]])  # fmt: skip
    return buffer.getvalue()


def _timing(timing: Timing) -> dict:
    return {**asdict(timing), "iqr": timing.iqr}


def report_dict(report: BenchReport) -> dict:
    runs = []
    for run in report.runs:
        summary = asdict(run.summary)
        summary["end_to_end"] = _timing(run.summary.end_to_end)
        layers = []
        for layer in run.layers:
            data = asdict(layer)
            data["time"] = _timing(layer.time)
            layers.append(data)
        runs.append({"name": run.name, "dtype": run.dtype, "batch": run.batch, "input_shape": run.input_shape,
                     "sweep": run.sweep, "macs": run.macs, "flops": run.flops, "summary": summary,
                     "layers": layers})  # fmt: skip
    return {"machine": asdict(report.machine), "settings": asdict(report.settings),
            "sweep_variable": report.sweep_variable, "warnings": report.warnings, "runs": runs}  # fmt: skip


def render_json(report: BenchReport) -> str:
    return json.dumps(report_dict(report), indent=2, ensure_ascii=False) + "\n"
