"""`report --train`: backward rules (against torch autograd's FLOP counter), iterations, epochs, memory,
the JSON `training` object (contract keys unchanged), and bad input."""

from __future__ import annotations

import io
import json

import pytest
from typer.testing import CliRunner

from archcalc import analyse, load_spec, load_spec_text
from archcalc.analysis.training import iterations_per_epoch, training_costs
from archcalc.cli import app
from archcalc.layers import REGISTRY
from tests.cli_errors import assert_one_line_error
from tests.conftest import check_golden
from tests.test_report_cli import CONTRACT_LAYER, CONTRACT_TOTALS

runner = CliRunner()

# No grouped convs here: torch's FLOP counter counts a grouped conv's weight gradient as if it were
# ungrouped (g times too much); archcalc counts the real arithmetic, the forward MACs.
TRAINED = """
input: [3, 16, 16]
layers:
  - {name: pool0, type: max_pool2d, kernel: 2}
  - {name: conv1, type: conv2d, out_channels: 8, kernel: 3, padding: 1}
  - {name: bn1, type: batchnorm}
  - {name: relu1, type: relu}
  - {name: conv2, type: conv2d, out_channels: 8, kernel: 3, padding: 1, bias: false}
  - {name: add, type: add, inputs: [conv2, relu1]}
  - {name: up, type: conv_transpose2d, out_channels: 4, kernel: 2, stride: 2}
  - {name: flat, type: flatten}
  - {name: fc, type: linear, out_features: 10}
"""


def test_backward_matmul_flops_equal_torch_autograd():
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from archcalc.torch_build import build_module

    graph = load_spec_text(TRAINED)
    report = analyse(graph, batch=2)
    training = training_costs(graph, report)
    module = build_module(graph, device="cpu").train()
    output = module(torch.randn(2, 3, 16, 16))
    with FlopCounterMode(display=False) as counter:
        output.sum().backward()
    # torch counts 2 FLOPs per multiply-add of conv and matmul gradients only.
    assert counter.get_total_flops() == 2 * training.backward_macs
    backward = {layer.name: layer.backward_macs for layer in training.layers}
    assert backward["conv1"] == report.layer("conv1").macs  # first trained layer: weight gradient only
    assert backward["conv2"] == 2 * report.layer("conv2").macs  # weights and input
    assert backward["pool0"] == 0  # nothing before it is trained: no gradient flows here


def test_backward_rules_per_layer():
    graph = load_spec_text(TRAINED)
    training = training_costs(graph, analyse(graph))
    report = analyse(graph)
    by_name = {layer.name: layer for layer in training.layers}
    conv1, relu1, fc = by_name["conv1"], by_name["relu1"], by_name["fc"]
    assert conv1.backward_flops == 2 * conv1.backward_macs + 8 * 8 * 8  # + the bias gradient
    assert (relu1.backward_macs, relu1.backward_flops) == (0, report.layer("relu1").flops)  # ~ forward
    assert fc.backward_flops == 2 * 2 * report.layer("fc").macs + 10
    assert by_name["bn1"].backward_flops == report.layer("bn1").flops


def test_every_layer_type_documents_its_backward_rule():
    for name, rule in REGISTRY.items():
        assert rule.backward_rule, name


def test_iterations_epochs_and_memory():
    assert iterations_per_epoch(1_000, 10) == 100  # the seeds' note 000
    assert iterations_per_epoch(1_281_167, 256) == 5_005
    graph = load_spec("vgg16")
    report = analyse(graph, batch=10)
    training = training_costs(graph, report, "adam", dataset_size=1_000, epochs=3)
    assert training.iterations_per_epoch == 100
    per_sample = (report.totals.macs + training.backward_macs) // 10
    assert training.epoch_macs == per_sample * 1_000 and training.total_macs == 3 * training.epoch_macs
    params = report.totals.trainable_params
    assert training.gradient_bytes == 4 * params and training.optimizer_state_bytes == 2 * 4 * params
    assert training.total_bytes == report.totals.param_bytes + 3 * 4 * params + report.totals.activation_bytes
    states = {opt: training_costs(graph, report, opt).optimizer_state_bytes for opt in ("sgd", "momentum", "adam")}
    assert states == {"sgd": 0, "momentum": 4 * params, "adam": 8 * params}


def cli(*args: str):
    return runner.invoke(app, ["report", *args])


def test_json_gains_training_and_keeps_the_contract():
    plain = json.loads(cli("vgg16", "--format", "json").stdout)
    trained = json.loads(cli("vgg16", "--format", "json", "--train", "--dataset-size", "1281167", "--batch", "256",
                             "--optimizer", "adam", "--epochs", "90").stdout)  # fmt: skip
    assert list(trained)[: len(plain)] == list(plain) and list(trained)[-1] == "training"
    assert CONTRACT_TOTALS <= set(trained["totals"])
    assert all(CONTRACT_LAYER <= set(layer) for layer in trained["layers"])
    t = trained["training"]
    assert (t["optimizer"], t["batch"], t["epochs"], t["iterations_per_epoch"]) == ("adam", 256, 90, 5_005)
    assert t["per_iteration"]["forward_macs"] == trained["totals"]["macs"]
    assert t["per_iteration"]["macs"] == t["per_iteration"]["forward_macs"] + t["per_iteration"]["backward_macs"]
    assert t["total"]["flops"] == 90 * t["per_epoch"]["flops"]
    assert sum(layer["backward_macs"] for layer in t["layers"]) == t["per_iteration"]["backward_macs"]
    assert all(type(v) is int for v in t["memory"].values())


def test_csv_gains_backward_columns():
    import pandas as pd

    frame = pd.read_csv(io.StringIO(cli("vgg16", "--format", "csv", "--train").stdout))
    assert list(frame.columns[-2:]) == ["backward_macs", "backward_flops"]
    training = training_costs(load_spec("vgg16"), analyse(load_spec("vgg16")))
    assert [int(v) for v in frame["backward_macs"]] == [layer.backward_macs for layer in training.layers]


def test_markdown_and_table_show_training(update_goldens):
    markdown = cli("examples/stem_3x3x3", "--format", "markdown", "--train", "--dataset-size", "1000", "--batch", "10",
                   "--optimizer", "momentum").stdout  # fmt: skip
    assert "| iterations / epoch | 100 | ceil(1,000 / 10) |" in markdown
    check_golden("stem_3x3x3_train.md", markdown, update_goldens)
    table = cli("vgg16", "--train", "--optimizer", "adam").stdout
    assert "optimizer state (adam)" in table and "backward MACs / iteration" in table


@pytest.mark.parametrize("args, message", [
    (["--train", "--optimizer", "adma"], "unknown optimizer 'adma' (did you mean 'adam'?); choose from sgd, momentum"),
    (["--train", "--dataset-size", "0"], "--dataset-size must be a positive number of samples, got 0"),
    (["--train", "--dataset-size", "-5"], "--dataset-size must be a positive number of samples, got -5"),
    (["--train", "--epochs", "0"], "--epochs must be a positive integer, got 0"),
    (["--optimizer", "adam"], "--optimizer applies to training cost; add --train"),
    (["--dataset-size", "100"], "--dataset-size applies to training cost; add --train"),
    (["--train", "--dataset-size", "many"], "Invalid value for '--dataset-size'"),
    (["--diagram", "dot"], "--diagram applies to --format markdown"),
    (["--format", "markdown", "--diagram", "svg"], "--diagram takes mermaid, dot, none; got 'svg'"),
])  # fmt: skip
def test_bad_input_is_one_line_and_exit_2(args, message):
    result = cli("vgg16", *args)
    assert_one_line_error(result, message)
