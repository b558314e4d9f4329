"""When a measurement should not be believed: flagged next to the figure, never silently shown.

- unstable: a timing whose interquartile range is large against its median (IQR / median above
  UNSTABLE_SPREAD): the rounds disagree, so its median is not one number;
- below the timing floor: a median under TIMING_FLOOR seconds is mostly call overhead and clock
  resolution, whatever the layer computes (a 975-MAC layer: any "3.42x faster" there is noise);
- loaded machine: the 1-minute load average before the run was LOADED_PER_CORE or more per logical
  core: other work competed for the cores, and every time may be inflated;
- a comparison between two runs is "within noise" when their end-to-end IQRs overlap, or either
  run is unstable or below the floor; "faster at more FLOPs" (a run with more analytic FLOPs
  measuring faster) is named, since it contradicts the arithmetic and usually means noise or load.
"""

from __future__ import annotations

import os

from archcalc.bench.results import BenchReport, BenchRun, Timing

UNSTABLE_SPREAD = 0.25
TIMING_FLOOR = 20e-6
LOADED_PER_CORE = 0.5
MARGIN = 1.1  # a ratio within 10% of 1 claims nothing either way


def load_average() -> list[float] | None:
    """The 1, 5 and 15 minute load averages (None where the system has none)."""
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def timing_flags(timing: Timing) -> list[str]:
    flags = []
    if timing.median < TIMING_FLOOR:
        flags.append("below the timing floor")
    if timing.median > 0 and timing.iqr / timing.median > UNSTABLE_SPREAD:
        flags.append("unstable")
    return flags


def comparison_note(first: BenchRun, run: BenchRun) -> str:
    """Why the speed ratio of `run` against `first` says nothing, or '' when it is a measurement."""
    a, b = first.summary.end_to_end, run.summary.end_to_end
    problems = [f"{label} {flag}" for label, timing in (("first run", a), ("this run", b))
                for flag in timing_flags(timing)]  # fmt: skip
    if problems:
        return "within noise: " + ", ".join(problems)
    if not (b.q3 < a.q1 or b.q1 > a.q3):
        return "within noise: the IQRs overlap"
    faster = a.median / b.median
    if faster > MARGIN and run.flops > first.flops * MARGIN:
        return f"faster at {run.flops / first.flops:.2f}x the FLOPs: check the machine's load"
    return ""


def report_warnings(report: BenchReport) -> list[str]:
    """Warnings for the whole report: load, unstable or toy forwards, and flagged layers."""
    warnings = []
    machine = report.machine
    if machine.load_average and machine.logical_cores:
        before = machine.load_average[0]
        if before >= LOADED_PER_CORE * machine.logical_cores:
            warnings.append(f"loaded machine: load average {before:.2f} on {machine.logical_cores} logical cores "
                            "before the run; every time may be inflated")  # fmt: skip
    for run in report.runs:
        for flag in timing_flags(run.summary.end_to_end):
            warnings.append(f"{run.label}: the whole forward is {flag} "
                            f"(median {run.summary.end_to_end.median * 1e6:.1f} µs, IQR "
                            f"{run.summary.end_to_end.iqr * 1e6:.1f} µs)")  # fmt: skip
        flagged = [layer for layer in run.layers if layer.flags]
        if flagged:
            warnings.append(f"{run.label}: {len(flagged)} of {len(run.layers)} layers flagged "
                            "(unstable or below the timing floor): their times and shares are rough")  # fmt: skip
    return warnings


__all__ = ["LOADED_PER_CORE", "TIMING_FLOOR", "UNSTABLE_SPREAD", "comparison_note", "load_average",
           "report_warnings", "timing_flags"]
