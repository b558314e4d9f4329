"""`sweep` never prints two columns with one name; `compare` keeps the report table's units."""

from __future__ import annotations

import csv
import io

from typer.testing import CliRunner

from archcalc.cli import app
from archcalc.render.compare import decimal_text, ratio_text

runner = CliRunner()
SPEC = """
name: collide
input: [3, 16, 16]
variables: {depth: 2, params: 4}
layers:
  - {type: conv2d, out_channels: params, kernel: 3, repeat: depth}
"""


def test_sweep_variable_named_like_a_metric(tmp_path):
    path = tmp_path / "collide.yaml"
    path.write_text(SPEC)
    for fmt in ("table", "markdown", "csv"):
        result = runner.invoke(app, ["sweep", str(path), "--set", "depth=1,2", "--set", "params=4,8", "-f", fmt])
        assert result.exit_code == 0, result.output
        if fmt == "csv":
            header = next(csv.reader(io.StringIO(result.stdout)))
        else:
            line = next(l for l in result.stdout.splitlines() if "set:depth" in l)
            header = [cell.strip() for cell in line.replace("┃", "|").strip("| ").split("|")]
        assert len(header) == len(set(header)), header
        assert "set:depth" in header and "depth" in header and "set:params" in header


def test_compare_ratios_stay_in_plain_notation():
    assert decimal_text(76123.4) == "76,123" and decimal_text(8.0034) == "8.00" and decimal_text(0.00074) == "0.000740"
    from fractions import Fraction

    assert "e+" not in ratio_text(Fraction(76123, 1) + Fraction(1, 3)) and ratio_text(Fraction(13, 36)) == "0.361 (13/36)"


def test_compare_table_shows_bytes_in_binary_units():
    result = runner.invoke(app, ["compare", "vgg16", "examples/single_conv"])
    assert result.exit_code == 0
    memory = next(line for line in result.stdout.splitlines() if "param memory" in line)
    assert "527.79 MiB" in memory and "400.00 KiB" in memory and "553.43 M" not in memory
    assert "e+" not in result.stdout and "e-" not in result.stdout
