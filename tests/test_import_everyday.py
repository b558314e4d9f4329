"""Importing what everyday PyTorch code does (issue 17): wrappers, odd returns, TorchScript, empty outputs,
tensor factories, in-place operations, index buffers (tests/models/everyday.py has the modules)."""

from __future__ import annotations

import pytest
import torch
from typer.testing import CliRunner

from archcalc import ArchcalcError, analyse
from archcalc.cli import app
from archcalc.importer import import_model
from tests.cli_errors import assert_one_line_error
from tests.models import everyday

runner = CliRunner()


def test_data_parallel_is_unwrapped_with_a_note():
    result = import_model(everyday.data_parallel, (3, 8, 8))
    report = analyse(result.graph)
    assert report.complete and [layer.type for layer in report.layers] == ["conv2d", "relu", "flatten", "linear"]
    assert report.totals.params == sum(p.numel() for p in everyday.data_parallel().parameters())
    assert any("DataParallel" in note for note in result.notes)


def test_a_model_in_training_mode_is_counted_in_eval_mode_and_said():
    model = everyday.in_training_mode()
    result = import_model(model, (3, 8, 8))
    assert analyse(result.graph).complete
    assert any("training mode" in note and "eval mode" in note for note in result.notes)
    assert model.training and model[1].training  # its modes are restored
    assert not any("training mode" in note for note in import_model(everyday.in_training_mode, (3, 8, 8)).notes)


@pytest.mark.parametrize("factory, words", [
    (everyday.ReturnsNone, "forward returns None"),
    (everyday.scripted, "TorchScript module"),
], ids=["none", "torchscript"])  # fmt: skip
def test_unanalysable_models_get_one_clear_line(factory, words):
    with pytest.raises(ArchcalcError, match=words):
        import_model(factory, (3, 4, 4))


def test_cli_says_torchscript_in_one_line_with_exit_2():
    result = runner.invoke(app, ["report", "--module", "tests/models/everyday.py:scripted", "--input", "3x4x4"])
    assert_one_line_error(result, "TorchScript")


def test_a_distribution_stands_for_its_tensors():
    result = import_model(everyday.ReturnsDistribution, (4,))
    report = analyse(result.graph)
    assert report.layers[0].type == "linear" and report.layers[0].params == 10
    assert any("Normal" in note and "loc" in note for note in result.notes)


def test_an_empty_output_of_an_unsupported_call_is_listed_cleanly():
    report = analyse(import_model(everyday.EmptyOutput, (3, 4)).graph)
    assert [gap.op for gap in report.unsupported] == ["torch.tensor_split"]
    assert report.layer(report.unsupported[0].name).output_shape == [3, 4]


def test_tensor_factories_are_listed_as_such_never_zero():
    report = analyse(import_model(everyday.Factories, (3, 4, 4)).graph)
    assert not report.complete
    made = {gap.op: gap.reason for gap in report.unsupported if "tensor factory" in gap.reason}
    assert set(made) == {"torch.randn", "torch.zeros_like"}  # per sample (noise), or from the input's values
    # a mask and positions made from the input's shape are constants (importer/constants.py): the product and
    # the sum that read them are constant_op layers (layers/constant_operand.py)
    assert [(layer.name, layer.attributes) for layer in report.layers if layer.type == "constant_op"] == [
        ("mul", {"op": "mul", "shape": (3, 4, 4)}), ("add_1", {"op": "add", "shape": (4,)})]


def test_in_place_operations_and_tensor_methods_map():
    report = analyse(import_model(everyday.InPlace, (4, 4, 4)).graph)
    assert report.complete
    assert [layer.type for layer in report.layers] == ["conv2d", "add", "relu", "add", "sigmoid", "mul"]


def test_an_index_buffer_is_a_buffer_used_by_the_forward():
    model = everyday.RelativeBias()
    result = import_model(model, (2, 4, 4))
    report = analyse(result.graph)
    assert report.totals.params == model.table.numel() and report.totals.buffers == model.index.numel()
    assert not any("not used" in note for note in result.notes)
