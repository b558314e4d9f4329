"""Terminal tables fit the width (columns left out in order and named), colour only on a terminal,
hyper-parameter and share columns, and summary lines that say what they cover."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from archcalc import analyse, load_spec, load_spec_text
from archcalc.cli import app
from archcalc.render import render
from archcalc.render.units import hyper_text

runner = CliRunner()
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.mark.parametrize("name", ["resnet50", "densenet121", "googlenet", "vgg16"])
@pytest.mark.parametrize("width", [60, 80, 100, 120])
def test_report_table_fits_the_width(name, width):
    text = render(analyse(load_spec(name)), "table", width=width)
    assert max(len(line) for line in text.splitlines()) <= width
    assert "│ total " in text


def test_columns_are_left_out_in_order_and_named():
    report = analyse(load_spec("resnet50"))
    wide = render(report, "table")
    assert "connections" in wide and "not shown" not in wide
    narrow = render(report, "table", width=80)
    header = next(line for line in narrow.splitlines() if line.startswith("┃"))
    assert [cell.strip() for cell in header.strip("┃").split("┃")] == ["layer", "output", "params", "%params",
                                                                       "MACs", "%MACs", "RF"]  # fmt: skip
    assert "not shown at 80 columns: type, hyper-params, FLOPs, activations, connections" in " ".join(narrow.split())


def test_colour_on_a_terminal_only():
    report = analyse(load_spec("resnet18"))
    assert ANSI.search(render(report, "table", color=True))
    assert not ANSI.search(render(report, "table"))
    piped = runner.invoke(app, ["report", "resnet18"])  # CliRunner's stdout is not a terminal
    assert piped.exit_code == 0 and not ANSI.search(piped.stdout)
    forced = runner.invoke(app, ["report", "resnet18"], env={"FORCE_COLOR": "1"})
    assert ANSI.search(forced.stdout)
    assert not ANSI.search(runner.invoke(app, ["report", "resnet18"], env={"FORCE_COLOR": "1", "NO_COLOR": "1"}).stdout)


def test_width_option_and_pipes():
    result = runner.invoke(app, ["report", "resnet50", "--width", "80"])
    assert result.exit_code == 0 and max(map(len, result.stdout.splitlines())) <= 80
    piped = runner.invoke(app, ["report", "resnet50"], env={"COLUMNS": "80"})  # not a terminal: every column
    assert "connections" in piped.stdout and max(map(len, piped.stdout.splitlines())) > 80
    result = runner.invoke(app, ["report", "resnet50", "--width", "5"])
    assert result.exit_code == 2 and "--width" in result.output


@pytest.mark.parametrize(("attributes", "text"), [
    ({"kernel": (7, 7), "stride": (2, 2), "padding": (3, 3, 3, 3), "dilation": (1, 1), "groups": 1}, "k7 s2 p3"),
    ({"kernel": (3, 3), "stride": (1, 1), "padding": (2, 2, 2, 2), "dilation": (2, 2), "groups": 32}, "k3 p2 d2 g32"),
    ({"kernel": (1, 7), "padding": (0, 0, 3, 3)}, "k1x7 p0,0,3,3"),
    ({"kernel": (3,), "stride": (2,), "padding": (1, 1)}, "k3 s2 p1"),
    ({"output_size": (7, 7)}, "out 7"),
    ({"out_features": 10}, ""),
])  # fmt: skip
def test_hyper_parameters(attributes, text):
    assert hyper_text(attributes) == text


def test_hyper_and_share_columns():
    text = render(analyse(load_spec("resnet50")), "table", depth="all")
    conv1 = next(line for line in text.splitlines() if line.startswith("│ conv1 "))
    assert "k7 s2 p3" in conv1 and "2.9%" in conv1  # 118 M of 4.09 G MACs
    fc = next(line for line in text.splitlines() if line.startswith("│ fc "))
    assert "8.0%" in fc  # 2.05 M of 25.56 M params


def test_summary_lines_say_what_they_cover():
    vgg = render(analyse(load_spec("vgg16")), "table")
    assert "receptive field (avgpool, last spatial layer)" in vgg
    assert "depth (weighted layers on the longest path)" in vgg
    convs = render(analyse(load_spec("examples/stacked_3x3")), "table")
    assert re.search(r"receptive field \(\S+, the output\)", convs)
    mlp = render(analyse(load_spec_text("input: [784]\nlayers:\n  - {type: linear, out_features: 10}\n")), "table")
    assert "receptive field" not in mlp.split("│ total")[1]


def test_incomplete_report_qualifies_depth_and_field(tmp_path):
    from archcalc.analysis.results import Gap
    from archcalc.render.summary import summary_rows

    report = analyse(load_spec("vgg16"))
    report.complete, report.unsupported = False, [Gap("x", "torch.roll", "model.py:3", "")]
    labels = [label for label, _, _ in summary_rows(report)]
    assert "depth (weighted layers on the longest path; uncounted layers not included)" in labels
    assert any("fields stop at layers archcalc cannot count" in label for label in labels)


def test_markdown_layer_table_has_the_hyper_parameters():
    text = render(analyse(load_spec("resnet50")), "markdown")
    assert "| `conv1` | conv2d | 64x112x112 | k7 s2 p3 | 9,408 |" in text
    assert "| `layer1.0.conv2` | conv2d | 64x56x56 | k3 p1 | 36,864 |" in text
