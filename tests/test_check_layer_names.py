"""Layers named like nn.Module's own attributes (`to`, `forward`, `train`: an import names `x.to(dtype)` `to`)
build and check like any other (archcalc/torch_build.py `_free_key`); before, `check` crashed with exit 3."""

from __future__ import annotations

from typer.testing import CliRunner

from archcalc.cli import app

runner = CliRunner()

SPEC = """name: module_attribute_names
input: [4]
layers:
  - {name: to, type: linear, out_features: 4}
  - {name: forward, type: relu}
  - {name: train, type: linear, out_features: 2}
"""


def test_layers_named_like_module_attributes_check(tmp_path):
    path = tmp_path / "names.yaml"
    path.write_text(SPEC)
    result = runner.invoke(app, ["check", str(path)])
    assert result.exit_code == 0, result.output
    assert "every layer agrees (3 layers)" in result.output
