"""`explain`: the top-down receptive-field chain, blocks (DenseNet's L(L+1)/2), unnamed layers in totals."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from archcalc import analyse, load_spec
from archcalc.analysis.block_explain import explain_block
from archcalc.cli import app

runner = CliRunner()


def explain(*args: str):
    result = runner.invoke(app, ["explain", *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_vgg16_top_down_chain_in_every_format():
    text = explain("vgg16", "conv5_3.conv")
    chain = text.split("receptive field top down")[1]
    sizes = [int(line.split()[0]) for line in chain.splitlines()[3:] if line.strip()]
    assert sizes == [3, 5, 7, 14, 16, 18, 20, 40, 42, 44, 46, 92, 94, 96, 192, 194, 196]
    assert "   14  pool4" in chain and "196  conv1_1.conv" in chain
    data = json.loads(explain("vgg16", "conv5_3.conv", "-f", "json"))
    assert data["top_down"][-1] == {"layer": "conv1_1.conv", "field": [196, 196]}
    assert "| `pool4` | 14 |" in explain("vgg16", "conv5_3.conv", "-f", "markdown")


def test_a_merge_on_the_way_is_said():
    text = explain("resnet18", "layer1.1.conv2")
    assert "no single path down: layer1.1.add merges 2 inputs" in text or "layer1.0.add merges 2 inputs" in text


def test_unnamed_layers_read_as_layers_in_totals(tmp_path):
    spec = tmp_path / "mlp.yaml"
    spec.write_text("input: [784]\nlayers:\n  - {name: fc1, type: linear, out_features: 100}\n  - {type: relu}\n"
                    "  - {name: fc2, type: linear, out_features: 10}\n")  # fmt: skip
    text = explain(str(spec))
    assert "FLOPs = fc1 + layer 1 (relu) + fc2 = 156,800 + 100 + 2,000 = 158,900" in text


@pytest.mark.parametrize(("block", "units", "connections"), [("features.denseblock1", 6, 21),
                                                             ("features.denseblock3", 24, 300)])
def test_densenet_dense_block_has_l_l_plus_1_over_2_connections(block, units, connections):
    report = analyse(load_spec("densenet121"))
    item = explain_block(report, block)
    assert item.dense and len(item.units) == units
    direct = next(f for f in item.formulas if f.name == "direct connections")
    assert direct.value == connections == units * (units + 1) // 2
    assert [len(link.sources) for link in item.links] == list(range(1, units + 1))
    assert sum(f.value for f in item.formulas if f.name == "params") == sum(
        layer.params for layer in report.layers if layer.name.startswith(block + "."))
    text = explain("densenet121", block)
    assert f"direct connections = (L × (L + 1)) / 2 = ({units} × ({units} + 1)) / 2 = {connections}" in text


def test_a_resnet_stage_is_not_dense():
    item = explain_block(analyse(load_spec("resnet50")), "layer1")
    assert not item.dense and [len(link.sources) for link in item.links] == [1, 1, 1]
    assert next(f for f in item.formulas if f.name == "direct connections").value == 3
    data = json.loads(explain("resnet50", "layer2", "-f", "json"))
    assert data["units"] == ["layer2.0", "layer2.1", "layer2.2", "layer2.3"] and data["dense"] is False


def test_unknown_block_is_a_clear_error():
    result = runner.invoke(app, ["explain", "resnet50", "layer9"])
    assert result.exit_code == 2 and "layer9" in result.output


def test_a_block_name_explains_the_block():
    """`explain vgg16 conv5_3` once said to name a layer; a block has its own explanation now."""
    text = explain("vgg16", "conv5_3")
    assert "conv5_3: a block of 2 layers in 2 units" in text and "params = conv + relu = 2,359,808 + 0" in text
