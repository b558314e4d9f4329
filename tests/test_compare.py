"""`archcalc compare`: the seeds' worked comparisons come out exactly; stages align; formats; bad input."""

from __future__ import annotations

import io
import json

import pytest
from typer.testing import CliRunner

from archcalc import analyse, load_spec
from archcalc.analysis.compare import split_spec_argument
from archcalc.cli import app
from tests.cli_errors import assert_one_line_error
from tests.conftest import check_golden

runner = CliRunner()


def compare_json(*args: str) -> dict:
    result = runner.invoke(app, ["compare", *args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def ratio(data: dict, index: int, key: str) -> str:
    return data["specs"][index]["ratios"][key]["fraction"]


def test_stems_7x7_against_three_3x3():
    data = compare_json("examples/stem_7x7", "examples/stem_3x3x3", "examples/stem_3x3x3_slim")
    seven, three, slim = data["specs"]
    assert (seven["macs"], seven["params"]) == (118_013_952, 9_472)
    assert (three["macs"], three["params"]) == (946_520_064, 75_648)
    assert (slim["macs"], slim["params"]) == (326_043_648, 26_112)
    assert ratio(data, 1, "macs") == "393/49"  # 946,520,064 / 118,013,952 exactly
    assert seven["ratios"] is None and seven["receptive_field"] == [7, 7]


def test_depthwise_separable_is_13_36_of_standard():
    data = compare_json("examples/conv_standard", "examples/depthwise_separable")
    assert (data["specs"][0]["params"], data["specs"][1]["params"]) == (108, 39)
    assert ratio(data, 1, "params") == ratio(data, 1, "macs") == "13/36"  # 1/C_out + 1/(k_w k_h) = 1/4 + 1/9


def test_grouped_conv_is_one_eighth():
    data = compare_json("examples/grouped_conv:groups=1", "examples/grouped_conv")
    assert data["specs"][0]["params"] == 256 * 3 * 3 * 256
    assert ratio(data, 1, "params") == ratio(data, 1, "macs") == "1/8"


@pytest.mark.parametrize("n, k, small, large", [(2, 5, 18, 25), (3, 7, 27, 49)])
def test_stacked_3x3_against_one_large_kernel(n, k, small, large):
    data = compare_json(f"examples/single_conv:k={k}", f"examples/stacked_3x3:n={n}")
    channels = 64
    assert data["specs"][0]["params"] == large * channels**2
    assert data["specs"][1]["params"] == small * channels**2
    assert ratio(data, 1, "params") == str(__import__("fractions").Fraction(small, large))
    assert data["specs"][0]["receptive_field"] == data["specs"][1]["receptive_field"] == [k, k]


def test_global_set_applies_to_specs_declaring_the_variable():
    data = compare_json("examples/single_conv", "examples/stacked_3x3:n=3", "examples/stem_7x7", "--set", "C=32")
    assert data["specs"][0]["params"] == 25 * 32**2 and data["specs"][1]["params"] == 27 * 32**2
    assert data["specs"][2]["params"] == 9_472 and data["specs"][2]["overrides"] == ""
    own = compare_json("examples/single_conv:C=16", "--set", "C=32")
    assert own["specs"][0]["params"] == 25 * 16**2  # the spec's own value wins


def test_by_stage_aligns_stages_by_name():
    data = compare_json("vgg16", "examples/vgg16_rpn_window", "--by", "stage")
    stages = {row["stage"]: row["specs"] for row in data["stages"]}
    vgg = analyse(load_spec("vgg16"))
    assert stages["conv5"][0]["params"] == sum(layer.params for layer in vgg.layers if layer.name.startswith("conv5"))
    assert stages["conv5"][0]["layers"] == 6 and stages["conv5"][1] is None  # vgg16_rpn_window names it stage5
    assert stages["pool5…fc8"][1] is None and stages["rpn_conv…rpn_relu"][0] is None  # runs of top-level layers
    assert stages["pool1"][0]["layers"] == stages["pool1"][1]["layers"] == 1
    assert sum(row["specs"][0]["macs"] for row in data["stages"] if row["specs"][0]) == vgg.totals.macs


def test_csv_round_trips_through_pandas_with_exact_integers():
    import pandas as pd

    text = runner.invoke(app, ["compare", "vgg16", "alexnet_original", "--format", "csv"]).stdout
    frame = pd.read_csv(io.StringIO(text))
    for column in ("params", "macs", "flops", "connections", "activations", "param_bytes", "depth"):
        assert str(frame[column].dtype) == "int64", column
    reports = [analyse(load_spec("vgg16")), analyse(load_spec("alexnet_original"))]
    assert [int(v) for v in frame["macs"]] == [r.totals.macs for r in reports]
    assert list(frame["receptive_field"]) == ["212x212", "195x195"]
    assert frame["params_ratio"][1] == pytest.approx(reports[1].totals.params / reports[0].totals.params)
    stage_text = runner.invoke(app, ["compare", "vgg16", "--by", "stage", "--format", "csv"]).stdout
    stages = pd.read_csv(io.StringIO(stage_text))
    assert int(stages["params"].sum()) == reports[0].totals.params and str(stages["macs"].dtype) == "int64"


@pytest.mark.parametrize("fmt, suffix", [("markdown", "md"), ("csv", "csv"), ("table", "txt")])
def test_goldens(fmt, suffix, update_goldens):
    args = ["compare", "examples/stem_7x7", "examples/stem_3x3x3", "examples/stem_3x3x3_slim", "--format", fmt]
    check_golden(f"compare_stems.{suffix}", runner.invoke(app, args).stdout, update_goldens)
    staged = runner.invoke(app, ["compare", "vgg16", "examples/vgg16_rpn_window", "--by", "stage", "--format", fmt])
    check_golden(f"compare_vgg16_by_stage.{suffix}", staged.stdout, update_goldens)


def test_spec_argument_split():
    assert split_spec_argument("examples/single_conv:k=7:C=32") == ("examples/single_conv", ["k=7", "C=32"])
    assert split_spec_argument("nets/a:b.yaml") == ("nets/a:b.yaml", [])
    assert split_spec_argument("net.yaml:widths=[1,2]") == ("net.yaml", ["widths=[1,2]"])


@pytest.mark.parametrize("args, message", [
    (["examples/stem_7x7", "--set", "width=2"], "--set width: none of the compared specs has a variable 'width'"),
    (["examples/single_conv:kk=3"], "--set kk: the spec has no variable 'kk' (did you mean 'k'?)"),
    (["examples/single_conv:k=7:k=5"], "--set k is given twice"),
    ([":k=7"], "names no spec before its variables"),
    (["examples/stem_7x7", "--by", "block"], "--by takes 'stage', got 'block'"),
    (["examples/stem_7x7", "--format", "xml"], "unknown format 'xml'"),
    (["resnet05", "vgg16"], "no spec file or built-in spec named 'resnet05' (did you mean 'resnet50'?)"),
    (["examples/single_conv:k=0"], "attribute 'kernel' must be positive"),
])  # fmt: skip
def test_bad_input_is_one_line_and_exit_2(args, message):
    result = runner.invoke(app, ["compare", *args])
    assert_one_line_error(result, message)
