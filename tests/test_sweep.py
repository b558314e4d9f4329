"""`archcalc sweep`: the cartesian product of variable values, exact totals, formats, plot, bad input."""

from __future__ import annotations

import io
import json

import pytest
from typer.testing import CliRunner

from archcalc import analyse, load_spec
from archcalc.analysis.sweep import parse_sweep_sets
from archcalc.cli import app
from tests.cli_errors import assert_one_line_error
from tests.conftest import check_golden
from tests.png import png_size

runner = CliRunner()
STACK = ["sweep", "examples/stacked_3x3", "--set", "n=1,2,3", "--set", "C=32,64"]


def test_product_in_order_with_exact_totals():
    result = runner.invoke(app, STACK + ["--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["rows"]
    assert [row["values"] for row in rows] == [{"n": n, "C": c} for n in (1, 2, 3) for c in (32, 64)]
    for row in rows:
        n, c = row["values"]["n"], row["values"]["C"]
        assert row["params"] == n * 9 * c * c  # n 3x3 convs, C -> C, no bias
        assert row["receptive_field"] == [2 * n + 1] * 2
        report = analyse(load_spec("examples/stacked_3x3", {"n": n, "C": c}))
        assert (row["macs"], row["flops"], row["depth"]) == (report.totals.macs, report.totals.flops, report.depth)


def test_csv_round_trips_through_pandas_with_exact_integers():
    import pandas as pd

    frame = pd.read_csv(io.StringIO(runner.invoke(app, STACK + ["--format", "csv"]).stdout))
    assert list(frame.columns[:2]) == ["n", "C"]
    for column in ("params", "macs", "flops", "connections", "activations", "param_bytes", "depth"):
        assert str(frame[column].dtype) == "int64", column
    assert [int(v) for v in frame["params"]] == [n * 9 * c * c for n in (1, 2, 3) for c in (32, 64)]
    assert list(frame["receptive_field"]) == ["3x3", "3x3", "5x5", "5x5", "7x7", "7x7"]


def test_float_multiplier_and_list_values():
    grid = parse_sweep_sets(["width=0.25,0.5,1.0", "stages=[1,2],[2,4]", "name=a,b"])
    assert grid == {"width": [0.25, 0.5, 1.0], "stages": [[1, 2], [2, 4]], "name": ["a", "b"]}


@pytest.mark.parametrize("fmt, suffix", [("markdown", "md"), ("csv", "csv"), ("table", "txt")])
def test_goldens(fmt, suffix, update_goldens):
    args = ["sweep", "examples/grouped_conv", "--set", "groups=1,2,4,8", "--set", "channels=64,256", "--format", fmt]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    check_golden(f"sweep_grouped_conv.{suffix}", result.stdout, update_goldens)


def test_plot_is_a_valid_png(tmp_path):
    target = tmp_path / "sweep.png"
    result = runner.invoke(app, STACK + ["--plot", str(target), "--format", "csv"])
    assert result.exit_code == 0, result.output
    width, height = png_size(target.read_bytes())
    assert 600 <= width <= 3000 and 300 <= height <= 2000
    assert result.stdout.startswith("n,C,params")  # the table still goes to stdout


@pytest.mark.parametrize("args, message", [
    ([], "sweep needs at least one --set name=value1,value2,..."),
    (["--set", "n"], "--set takes name=value1,value2,..., got 'n'"),
    (["--set", "n=1,,2"], "--set n: empty value in '1,,2'"),
    (["--set", "n=1,2,"], "--set n: empty value"),
    (["--set", "n=1,1"], "--set n: value 1 is listed twice"),
    (["--set", "n=1", "--set", "n=2"], "--set n is given twice; list all its values in one --set"),
    (["--set", "nn=1,2"], "the spec has no variable 'nn' (did you mean 'n'?)"),
    (["--set", "n=1,2.5"], "with n=2.5:"),
    (["--set", "n=1", "--plot", "out.svg"], "--plot writes a PNG"),
    (["--set", "n=" + ",".join(str(i) for i in range(1, 102)), "--set", "C=" + ",".join(str(i) for i in range(1, 101))],
     "the sweep has 10,100 combinations; at most 10,000 are allowed"),
])  # fmt: skip
def test_bad_input_is_one_line_and_exit_2(args, message):
    result = runner.invoke(app, ["sweep", "examples/stacked_3x3", *args])
    assert_one_line_error(result, message)
