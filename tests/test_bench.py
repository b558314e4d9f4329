"""`archcalc bench` on tiny specs: real timings (never asserted in absolute terms), the analytic columns,
the sum over layers against the whole forward, dtypes and sweeps, formats, the plot, bad input."""

from __future__ import annotations

import csv
import io
import json

import pytest
import torch
from typer.testing import CliRunner

from archcalc import analyse, load_spec
from archcalc.bench import BenchSettings, bench_spec
from archcalc.cli import app

runner = CliRunner()

# A small residual net with every kind of layer bench must time: conv, batchnorm, relu, add, pooling,
# flatten, linear. `width` is swept below.
TINY = """
name: tiny_bench
input: [3, 8, 8]
variables:
  width: 8
layers:
  - {name: stem, type: conv2d, out_channels: width, kernel: 3, padding: 1, bias: false}
  - {name: bn, type: batchnorm}
  - {name: relu, type: relu}
  - {name: conv, type: conv2d, out_channels: width, kernel: 3, padding: 1, groups: width}
  - {name: add, type: add, inputs: [conv, relu]}
  - {name: pool, type: max_pool2d, kernel: 2}
  - {name: flat, type: flatten}
  - {name: fc, type: linear, out_features: 10}
"""
FAST = ["--repeats", "5", "--warmup", "1", "--threads", "1"]
# Sum over layers / whole forward, median over rounds. Structurally about 1 (see docs/bench.md); the
# band leaves room for a loaded 2-core machine and still catches a lost, doubled or mis-scaled layer.
SUM_TOLERANCE = 1.5


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny_bench.yaml"
    path.write_text(TINY)
    return str(path)


def bench_json(*args: str) -> dict:
    result = runner.invoke(app, ["bench", *args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_every_layer_gets_a_positive_time_and_the_machine_is_recorded(tiny):
    data = bench_json(tiny, *FAST)
    (run,) = data["runs"]
    assert [layer["name"] for layer in run["layers"]] == [layer.name for layer in analyse(load_spec(tiny)).layers]
    for layer in run["layers"]:
        time = layer["time"]
        assert time["samples"] == 5
        assert 0 < time["best"] <= time["q1"] <= time["median"] <= time["q3"]
        assert layer["gflops_per_second"] >= 0 and layer["bytes_moved"] > 0
    assert sum(layer["time_share"] for layer in run["layers"]) == pytest.approx(1.0)
    machine = data["machine"]
    assert machine["threads"] == 1 and machine["device"] == "cpu" and machine["torch"] == torch.__version__
    assert machine["cpu"] and machine["measured_at"]
    assert data["settings"] == {"warmup": 1, "repeats": 5}


def test_layer_times_add_up_to_the_whole_forward(tiny):
    result = bench_spec(tiny, threads=1, settings=BenchSettings(warmup=2, repeats=15))
    summary = result.runs[0].summary
    assert 1 / SUM_TOLERANCE <= summary.sum_ratio <= SUM_TOLERANCE, summary
    assert 1 / SUM_TOLERANCE <= summary.layer_sum / summary.end_to_end.median <= SUM_TOLERANCE, summary
    assert summary.throughput == pytest.approx(1 / summary.end_to_end.median)


@pytest.mark.parametrize("spec", ["examples/depthwise_separable", "examples/stem_3x3x3"])
def test_analytic_columns_equal_report(spec):
    args = [spec, "--input", "3x8x8", "--batch", "2"]
    report = json.loads(runner.invoke(app, ["report", *args, "--format", "json"]).stdout)
    data = bench_json(*args, *FAST)
    layers = data["runs"][0]["layers"]
    assert [(l["name"], l["macs"], l["flops"]) for l in layers] == [(l["name"], l["macs"], l["flops"])
                                                                    for l in report["layers"]]  # fmt: skip
    assert (data["runs"][0]["macs"], data["runs"][0]["flops"]) == (report["totals"]["macs"], report["totals"]["flops"])


def test_dtypes_and_sweep_make_one_run_each(tiny):
    data = bench_json(tiny, "--dtype", "float32,bfloat16", "--sweep", "width=4,8", *FAST)
    runs = [(run["dtype"], run["sweep"]["width"]) for run in data["runs"]]
    assert runs == [("float32", 4), ("bfloat16", 4), ("float32", 8), ("bfloat16", 8)]
    assert data["sweep_variable"] == "width"
    flops = {width: analyse(load_spec(tiny, {"width": width})).totals.flops for width in (4, 8)}
    assert all(run["flops"] == flops[run["sweep"]["width"]] for run in data["runs"])
    # bytes moved follow the element size: bfloat16 moves half of float32's
    assert data["runs"][1]["layers"][0]["bytes_moved"] * 2 == data["runs"][0]["layers"][0]["bytes_moved"]


def test_formats(tiny, tmp_path):
    out = tmp_path / "bench.md"
    result = runner.invoke(app, ["bench", tiny, *FAST, "--dtype", "float32,float64", "--format", "markdown",
                                 "--output", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert "## Comparison" in text and "| CPU |" in text
    assert "| `stem` | conv2d |" in text
    rows = list(csv.DictReader(io.StringIO(runner.invoke(app, ["bench", tiny, *FAST, "--format", "csv"]).stdout)))
    assert [row["layer"] for row in rows] == [layer.name for layer in analyse(load_spec(tiny)).layers]
    assert all(float(row["median_s"]) > 0 and row["threads"] == "1" for row in rows)
    table = runner.invoke(app, ["bench", tiny, *FAST, "--exact"]).stdout
    assert "FLOPs vs time over layers" in table and "Spearman" in table


def test_plot_is_a_png(tiny, tmp_path):
    for extra in ([], ["--sweep", "width=4,8"], ["--dtype", "float32,bfloat16"]):
        plot = tmp_path / f"plot{len(extra)}.png"
        result = runner.invoke(app, ["bench", tiny, *FAST, *extra, "--plot", str(plot), "--format", "csv"])
        assert result.exit_code == 0, result.output
        assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


LRN = """
input: [4, 5, 5]
layers:
  - {name: conv, type: conv2d, out_channels: 4, kernel: 3}
  - {name: norm, type: lrn, size: 3}
"""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--device", "tpu9"], "unknown device 'tpu9'"),
        (["--device", "cuda"], "no CUDA GPU is available"),
        (["--dtype", "int8"], "bench cannot run 'int8'"),
        (["--dtype", "float32,flaot16"], "did you mean 'float16'"),
        (["--sweep", "width"], "--sweep takes name=value"),
        (["--sweep", "widht=1,2"], "--sweep widht: the spec has no variable"),
        (["--sweep", "width=4", "--set", "width=2"], "both set the same variable"),
        (["--sweep", "width=4,0"], "layer stem: attribute 'out_channels' must be positive"),
        (["--threads", "0"], "--threads must be a positive integer"),
        (["--repeats", "0"], "--repeats must be at least 1"),
        (["--format", "yaml"], "unknown format 'yaml'"),
        (["--plot", "out.svg"], "--plot writes a PNG file"),
        (["--output", "no/such/folder/bench.md"], "no/such/folder/bench.md: cannot write here"),
    ],
)
def test_bad_input_is_one_line_exit_2(tiny, monkeypatch, args, message):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # "cuda without a GPU", on any machine
    result = runner.invoke(app, ["bench", tiny, *args])
    assert result.exit_code == 2, result.output
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_a_layer_torch_cannot_run_in_a_dtype_is_named(tmp_path):
    path = tmp_path / "lrn.yaml"
    path.write_text(LRN)
    result = runner.invoke(app, ["bench", str(path), "--dtype", "float16", *FAST])
    # torch 2.13's CPU LRN has no half-precision kernel; the error names the file, line and layer.
    assert result.exit_code == 2, result.output
    assert f"{path}:5: layer norm: torch cannot run this lrn layer in float16 on cpu" in result.stderr
