"""Specs of every input rank through every command: report (every format, --train), explain, compare,
sweep, check and conventions. Per-axis results are lists as long as the spatial rank."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from archcalc.cli import app
from archcalc.render import FORMATS

runner = CliRunner()

SPECS = {
    "features": ("input: [784]\nlayers:\n  - {type: linear, out_features: 100}\n  - {type: relu}\n"
                 "  - {type: linear, out_features: 10}\n", 0),
    "tokens": ("input: [16, 100]\nlayers:\n  - {type: layernorm}\n  - {type: linear, out_features: 10}\n", 1),
    "audio": ("input: [1, 400]\nvariables: {channels: 4}\nlayers:\n"
              "  - {type: conv1d, out_channels: channels, kernel: 9, stride: 2}\n"
              "  - {type: batchnorm1d}\n  - {type: relu}\n  - {type: max_pool1d, kernel: 3, stride: 2}\n"
              "  - {type: upsample, scale: 2, mode: linear}\n  - {type: global_avg_pool}\n", 1),
    "image": ("input: [3, 32, 32]\nlayers:\n  - {type: conv2d, out_channels: 4, kernel: 3}\n"
              "  - {type: max_pool2d, kernel: 2}\n", 2),
    "video": ("input: [3, 4, 16, 16]\nlayers:\n  - {type: conv3d, out_channels: 4, kernel: [1, 3, 3], padding: [0, 1, 1]}\n"
              "  - {type: batchnorm3d}\n  - {type: relu}\n  - {type: avg_pool3d, kernel: 2}\n"
              "  - {type: upsample, scale: 2, mode: trilinear}\n", 3),
}  # fmt: skip


def run(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture(scope="module")
def specs(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("ranks")
    paths = {}
    for name, (text, _) in SPECS.items():
        paths[name] = folder / f"{name}.yaml"
        paths[name].write_text(text)
    return paths


@pytest.mark.parametrize("name", sorted(SPECS))
def test_report_renders_every_format(specs, name):
    for fmt in FORMATS:
        assert run("report", str(specs[name]), "--format", fmt)
    assert run("report", str(specs[name]), "--train", "--format", "markdown")
    layers = json.loads(run("report", str(specs[name]), "--format", "json"))["layers"]
    rank = SPECS[name][1]
    for layer in layers:
        for key in ("receptive_field", "effective_stride", "effective_padding"):
            assert layer[key] is None or len(layer[key]) == rank, (layer["name"], key)
    assert any(layer["receptive_field"] for layer in layers) == (name != "features")  # [F] has no spatial axis


@pytest.mark.parametrize("name", sorted(SPECS))
def test_explain_check_and_conventions(specs, name):
    assert "params =" in run("explain", str(specs[name]), "0")
    assert run("explain", str(specs[name]))
    assert "agrees" in run("check", str(specs[name]))
    assert run("conventions", str(specs[name]))


def test_compare_and_sweep_across_ranks(specs):
    text = run("compare", *[str(specs[name]) for name in sorted(SPECS)])
    assert "final receptive field" in text and "4x30x30" not in text
    rows = run("sweep", str(specs["audio"]), "--set", "channels=4,8", "--format", "csv").strip().splitlines()
    assert len(rows) == 3 and rows[1].split(",")[0] == "4" and rows[2].split(",")[0] == "8"


def test_input_of_four_sizes(specs):
    layers = json.loads(run("report", str(specs["video"]), "--input", "3x8x16x16", "--format", "json"))["layers"]
    assert layers[0]["output_shape"] == [4, 8, 16, 16]
    assert runner.invoke(app, ["report", str(specs["video"]), "--input", "3x2x8x16x16"]).exit_code == 2
