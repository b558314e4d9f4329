"""How imported layers hold their weights (issue 17): a module called several times and tied weights count
once in the totals while every row shows them; frozen parameters count as non-trainable; pruning masks
are buffers. The spec's `weights:` carries all three through export-spec and check."""

from __future__ import annotations

import json

import pytest
import torch
from typer.testing import CliRunner

from archcalc import analyse, load_spec_text
from archcalc.check import check
from archcalc.cli import app
from archcalc.importer import import_model
from archcalc.render.json_out import report_dict
from archcalc.spec.export import export_spec
from tests.cli_errors import assert_one_line_error
from tests.models import everyday

runner = CliRunner()

# (model factory, input shape)
MODELS = {"shared-conv": (everyday.SharedConv, (4, 8, 8)), "tied-linear": (everyday.TiedLinear, (8,)),
          "frozen": (everyday.frozen_backbone, (3, 8, 8)), "pruned": (everyday.pruned, (3, 4, 4))}  # fmt: skip


def torch_split(model: torch.nn.Module) -> tuple[int, int, int]:
    params = list(model.parameters())
    return (sum(p.numel() for p in params if p.requires_grad), sum(p.numel() for p in params if not p.requires_grad),
            sum(b.numel() for b in model.buffers()))  # fmt: skip


@pytest.mark.parametrize("name", sorted(MODELS))
def test_totals_count_each_weight_once_like_torch(name):
    factory, shape = MODELS[name]
    report = analyse(import_model(factory, shape).graph)
    assert report.complete
    t = report.totals
    assert (t.trainable_params, t.non_trainable_params, t.buffers) == torch_split(factory())
    assert t.params == t.trainable_params + t.non_trainable_params
    # the documented invariant: the totals are the rows' sums less what the rows share
    assert t.params == sum(layer.params - layer.shared_params for layer in report.layers)
    assert t.buffers == sum(layer.buffers - layer.shared_buffers for layer in report.layers)


def test_every_call_of_a_shared_module_shows_its_weights_on_its_row():
    report = analyse(import_model(everyday.SharedConv, (4, 8, 8)).graph)
    convs = [layer for layer in report.layers if layer.type == "conv2d"]
    assert [(c.params, c.shared_params) for c in convs] == [(148, 0), (148, 148), (148, 148)]
    assert all(c.macs == convs[0].macs for c in convs)  # each call computes
    data = report_dict(report)
    assert [layer["shared_params"] for layer in data["layers"] if layer["type"] == "conv2d"] == [0, 148, 148]


def test_tied_weights_share_only_what_is_tied():
    report = analyse(import_model(everyday.TiedLinear, (8,)).graph)
    decode = report.layer("decode")
    assert (decode.params, decode.shared_params) == (72, 64)  # its own bias is not shared


def test_the_table_says_what_is_shared():
    result = runner.invoke(app, ["report", "--module", "tests/models/everyday.py:SharedConv", "--input", "4x8x8"])
    assert result.exit_code == 0, result.output
    assert "SHARED: 2 layer(s) reuse weights" in result.stdout and "296 parameters" in result.stdout


@pytest.mark.parametrize("name", sorted(MODELS))
def test_weights_survive_export_and_check(name):
    factory, shape = MODELS[name]
    graph = import_model(factory, shape).graph
    again = load_spec_text(export_spec(graph))
    assert [node.weights for node in again.nodes] == [node.weights for node in graph.nodes]
    assert analyse(again).totals == analyse(graph).totals
    verdicts = check(again).totals
    assert all(v.status != "differ" for v in verdicts), verdicts


@pytest.mark.parametrize("weights, message", [
    ("{frozen: 1000}", "weights.frozen is 1,000, but the conv2d layer has 224 trainable parameters"),
    ("{shared: 1000}", "weights.shared (1,000 parameters, 0 buffer elements) exceeds"),
    ("{fozen: 1}", "'weights' has no key 'fozen' (did you mean 'frozen'?)"),
    ("{masks: -1}", "weights.masks must be a count"),
    ("7", "'weights' must map frozen, masks, shared, shared_buffers, tables"),
], ids=["frozen", "shared", "typo", "negative", "not-a-map"])  # fmt: skip
def test_bad_weights_get_one_line(tmp_path, weights, message):
    spec = tmp_path / "net.yaml"
    spec.write_text("input: [3, 4, 4]\nlayers:\n"
                    f"  - {{name: conv, type: conv2d, out_channels: 8, kernel: 3, weights: {weights}}}\n")  # fmt: skip
    assert_one_line_error(runner.invoke(app, ["report", str(spec)]), message)


def test_json_layers_carry_the_shared_counts_for_every_spec():
    result = runner.invoke(app, ["report", "specs/lenet5.yaml", "--format", "json"])
    data = json.loads(result.stdout)
    assert all(layer["shared_params"] == 0 == layer["shared_buffers"] for layer in data["layers"])
