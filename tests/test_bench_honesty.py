"""`bench` says when its figures should not be believed: unstable timings, toy layers under the timing
floor, a loaded machine (the load average is recorded), and speed-ups that are noise or that contradict
the FLOPs."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from archcalc.bench.honesty import TIMING_FLOOR, comparison_note, report_warnings, timing_flags
from archcalc.bench.results import BenchReport, BenchRun, BenchSettings, BenchSummary, Machine, Timing
from archcalc.cli import app
from tests.test_bench import FAST, TINY

runner = CliRunner()


def timing(median: float, iqr: float = 0.0) -> Timing:
    return Timing(median=median, best=median - iqr, q1=median - iqr / 2, q3=median + iqr / 2, samples=20)


def run(label: str, forward: Timing, flops: int) -> BenchRun:
    summary = BenchSummary(forward, forward.median, 1.0, 1 / forward.median, 1 / forward.median, None, None, [], [])
    return BenchRun("net", label, 1, [3, 8, 8], flops // 2, flops, [], summary)


def machine(load: list[float] | None, cores: int = 2) -> Machine:
    return Machine("cpu", cores, 1, "cpu", "cpu", "2.13.0", "3.11", "linux", "host", "now", load, load)


def test_timing_flags():
    assert timing_flags(timing(1e-3, 1e-5)) == []
    assert timing_flags(timing(1e-3, 5e-4)) == ["unstable"]
    assert timing_flags(timing(TIMING_FLOOR / 2)) == ["below the timing floor"]


def test_speedups_within_noise_or_against_the_flops_are_named():
    first = run("float32", timing(1e-3, 1e-5), 1000)
    assert comparison_note(first, run("bfloat16", timing(5e-4, 1e-5), 1000)) == ""  # a real 2x
    assert comparison_note(first, run("bfloat16", timing(0.99e-3, 2e-4), 1000)) == "within noise: the IQRs overlap"
    toy = run("float32", timing(5e-6), 975)
    assert "below the timing floor" in comparison_note(toy, run("bfloat16", timing(1.5e-6), 975))  # the "3.42x"
    doubled = comparison_note(first, run("c2=32", timing(4e-4, 1e-5), 2000))  # "2.44x faster at twice the FLOPs"
    assert doubled == "faster at 2.00x the FLOPs: check the machine's load"


def test_loaded_machine_and_flagged_runs_are_warned():
    report = BenchReport(machine([3.5, 2.0, 1.0]), BenchSettings(1, 5), [run("float32", timing(5e-6), 975)])
    warnings = report_warnings(report)
    assert warnings[0].startswith("loaded machine: load average 3.50 on 2 logical cores")
    assert any("whole forward is below the timing floor" in w for w in warnings)
    quiet = BenchReport(machine([0.1, 0.1, 0.1]), BenchSettings(1, 5), [run("float32", timing(1e-3, 1e-5), 10**9)])
    assert report_warnings(quiet) == []


def test_a_real_run_records_the_load_and_flags_toy_layers(tmp_path):
    spec = tmp_path / "tiny.yaml"
    spec.write_text(TINY)
    result = runner.invoke(app, ["bench", str(spec), *FAST, "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    load = data["machine"]["load_average"]
    assert isinstance(load, list) and len(load) == 3 and all(isinstance(v, float) for v in load)
    assert "warnings" in data
    for layer in data["runs"][0]["layers"]:
        flags = set(layer["flags"])
        assert flags <= {"unstable", "below the timing floor"}
        assert ("below the timing floor" in flags) == (layer["time"]["median"] < TIMING_FLOOR)
    table = runner.invoke(app, ["bench", str(spec), *FAST]).stdout
    assert "load average (1, 5, 15 min)" in table and "flags" in table
