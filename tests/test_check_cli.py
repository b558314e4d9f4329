"""`archcalc check` from the command line: verdict table, JSON, exit codes 0 / 1 / 2."""

from __future__ import annotations

import json
import sys

import pytest
from typer.testing import CliRunner

import archcalc.cli
from archcalc.layers import REGISTRY, IDENTITY, Params, RFStep

SMALL_NET = """
name: small_net
input: [3, 20, 20]
layers:
  - {name: conv, type: conv2d, out_channels: 8, kernel: 3, padding: 1}
  - {name: relu, type: relu}
  - {name: pool, type: max_pool2d, kernel: 2}
  - {name: flatten, type: flatten}
  - {name: fc, type: linear, out_features: 5}
"""


def run(*args: str):
    return CliRunner().invoke(archcalc.cli.app, ["check", *args])


@pytest.fixture
def small_net(tmp_path):
    path = tmp_path / "small_net.yaml"
    path.write_text(SMALL_NET)
    return str(path)


def test_a_builtin_spec_agrees_and_exits_0():
    result = run("examples/stem_7x7")
    assert result.exit_code == 0, result.output
    assert "every layer agrees (2 layers)" in result.output
    assert "118,013,952" in result.output  # the stem's MACs, witnessed by fvcore


def test_json_gives_the_same_verdicts(small_net):
    result = run(small_net, "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["agrees"] is True and data["differing"] == []
    assert [layer["name"] for layer in data["layers"]] == ["conv", "relu", "pool", "flatten", "fc"]
    conv = {v["quantity"]: v for v in data["layers"][0]["verdicts"]}
    assert conv["macs_fvcore"] == {"quantity": "macs_fvcore", "status": "agree", "archcalc": 86400, "torch": 86400,
                                   "note": ""}  # fmt: skip
    assert conv["receptive_field"]["torch"] == [[8, 10], [8, 10]]  # centre (9, 9), 3x3 window; MACs 8 * 3 * 9 * 20 * 20
    assert "relu" in data["not_counted"]["macs_fvcore"]


def test_output_file_and_real_tensors_on_cpu(small_net, tmp_path):
    target = tmp_path / "verdicts.json"
    result = run(small_net, "--device", "cpu", "--format", "json", "--output", str(target))
    assert result.exit_code == 0, result.output
    assert json.loads(target.read_text())["device"] == "cpu"


def _shape_off_by_one(rule):
    honest = rule.shape
    return lambda a, ins: (lambda s: (s[0], s[1] + 1) + s[2:])(honest(a, ins))


def _params_plus_one(rule):
    honest = rule.params
    return lambda a, ins, out: Params(honest(a, ins, out).trainable + 1)


def _macs_doubled(rule):
    honest = rule.macs
    return lambda a, ins, out: 2 * honest(a, ins, out)


def _window_too_small(rule):
    return lambda a, ins, out: RFStep((1, 1), (2, 2))


def _field_of_identity(rule):
    return lambda a, ins, out: IDENTITY


@pytest.mark.parametrize("layer_type, member, wrong, layer, quantity", [
    ("conv2d", "shape", _shape_off_by_one, "conv", "shape"),
    ("conv2d", "params", _params_plus_one, "conv", "trainable"),
    ("linear", "macs", _macs_doubled, "fc", "macs_fvcore"),
    ("max_pool2d", "receptive_field", _window_too_small, "pool", "receptive_field"),
    ("conv2d", "receptive_field", _field_of_identity, "conv", "receptive_field"),
])  # fmt: skip
def test_a_deliberately_wrong_rule_is_caught(monkeypatch, small_net, layer_type, member, wrong, layer, quantity):
    rule = REGISTRY[layer_type]
    monkeypatch.setattr(rule, member, wrong(rule))
    table = run(small_net)
    assert table.exit_code == 1, table.output
    assert any(line.startswith(f"│ {layer} ") and "DIFFER" in line for line in table.output.splitlines()), table.output
    data = json.loads(run(small_net, "--format", "json").output)
    assert layer in data["differing"]
    verdicts = {v["quantity"]: v for v in next(l for l in data["layers"] if l["name"] == layer)["verdicts"]}
    assert verdicts[quantity]["status"] == "differ"


@pytest.mark.parametrize("args, words", [
    (["no_such_spec"], "no spec file or built-in spec named"),
    (["examples/stem_7x7", "--device", "cuda"], "--device takes meta or cpu"),
    (["examples/stem_7x7", "--format", "csv"], "check --format takes table or json"),
    (["examples/stem_7x7", "--rf-budget", "-1"], "--rf-budget"),
    (["examples/stem_7x7", "--set", "nope=1"], "no variable"),
])  # fmt: skip
def test_bad_input_is_one_line_and_exit_2(args, words):
    result = run(*args)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], result.output


def test_a_bad_spec_names_file_line_and_layer(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("input: [3, 8, 8]\nlayers:\n  - {name: c, type: conv2d, out_channels: 4, kernel: 9}\n")
    result = run(str(path))
    assert result.exit_code == 2
    assert result.output.strip() == f"archcalc: error: {path}:3: layer c: the height collapses: window 9 is larger " \
                                    "than the padded input 8 (8 + padding 0+0)"  # fmt: skip


def test_missing_fvcore_is_said_plainly(monkeypatch):
    monkeypatch.setitem(sys.modules, "fvcore.nn", None)  # makes `import fvcore.nn` raise ImportError
    result = run("examples/stem_7x7")
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "archcalc check needs torch and fvcore" in lines[0], result.output
