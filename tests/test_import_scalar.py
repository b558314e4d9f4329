"""Constant operands and pointwise math on import (issue 17): every form (operator, torch function, Tensor
method, in place) imports complete, to the `scalar`, math and clamp layer types, with totals equal to the real
tools' on the real model, and survives export-spec and check (tests/models/scalar_ops.py has the models)."""

from __future__ import annotations

import pytest
import torch
from typer.testing import CliRunner

from archcalc import analyse, load_spec_text
from archcalc.check import check
from archcalc.cli import app
from archcalc.conventions import count_convention
from archcalc.conventions.peers import PEER_TOOLS
from archcalc.importer import import_model
from archcalc.spec.export import export_spec, graph_difference
from tests.cli_errors import assert_one_line_error
from tests.models import scalar_ops
from tests.peer_check import tool_totals

MODELS = sorted(scalar_ops.MODELS)


def imported(name: str, hooked: bool = False):
    model = scalar_ops.MODELS[name]
    return import_model((lambda: scalar_ops.Hooked(model)) if hooked else model, scalar_ops.INPUTS[name])


def scalars(graph) -> list[tuple]:
    return [(n.attrs["op"], n.attrs["value"], n.attrs["side"], n.attrs["inplace"], n.call)
            for n in graph.nodes if n.type == "scalar"]  # fmt: skip


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("hooked", [False, True], ids=["fx", "hooks"])
def test_every_form_imports_complete(name, hooked):
    result = imported(name, hooked)
    report = analyse(result.graph)
    assert result.method == ("forward hooks" if hooked else "torch.fx")
    assert report.complete, [(gap.op, gap.reason) for gap in report.unsupported]
    model = scalar_ops.MODELS[name]()
    assert report.totals.params == sum(p.numel() for p in model.parameters())


def test_operators_read_value_and_side():
    graph = imported("operators").graph
    assert scalars(graph) == [
        ("mul", 0.5, "right", False, "operator"), ("add", 1.0, "right", False, "operator"),
        ("mul", 0.25, "left", False, "operator"), ("sub", 3.0, "right", False, "operator"),
        ("sub", 1.0, "left", False, "operator"), ("div", 2.0, "right", False, "operator"),
        ("pow", 2.0, "right", False, "operator"), ("add", 1.0, "right", False, "operator"),
        ("div", 2.0, "left", False, "operator"), ("pow", 2.0, "left", False, "operator"),
        ("add", 3.0, "left", False, "operator")]  # fmt: skip
    assert [n.type for n in graph.nodes if n.type not in ("scalar", "add")] == ["neg", "abs"]


def test_functions_read_alpha_rsub_and_a_number_first():
    graph = imported("functions").graph
    assert scalars(graph)[:7] == [
        ("add", 1.0, "right", False, "function"), ("sub", 1.0, "right", False, "function"),  # 0.5 * alpha 2
        ("sub", 1.0, "left", False, "function"), ("mul", 0.5, "right", False, "function"),  # torch.rsub(y, 1)
        ("div", 4.0, "right", False, "function"), ("pow", 2.0, "right", False, "function"),
        ("pow", 2.0, "left", False, "function")]  # torch.pow(2, y) # fmt: skip
    math = [(n.type, n.call) for n in graph.nodes if n.type not in ("scalar",)]
    assert math == [("abs", "function"), ("log", "function"), ("exp", "function"), ("sqrt", "function"),
                    ("rsqrt", "function"), ("neg", "function"), ("square", "function"),
                    ("reciprocal", "function"), ("erf", "function"), ("clamp", "function")]  # fmt: skip
    assert graph.nodes[-1].attrs == {"min": -0.5, "max": 0.5}


def test_in_place_methods_are_marked_in_place():
    fx = scalars(imported("methods").graph)
    assert fx[5:9] == [("div", 2.0, "right", True, "method"), ("sub", 1.0, "right", True, "method"),
                       ("mul", 0.5, "right", True, "method"), ("add", 2.0, "right", True, "method")]  # fmt: skip
    # forward hooks see `y *= 0.5` as Tensor.mul_ (torch.fx as operator.mul, without the assignment)
    assert scalars(imported("methods", hooked=True).graph)[9:] == [("mul", 0.5, "right", True, "method"),
                                                                   ("add", 1.0, "right", True, "method")]


@pytest.mark.parametrize("name", MODELS)
def test_hooks_and_fx_count_the_same(name):
    assert analyse(imported(name).graph).totals == analyse(imported(name, hooked=True).graph).totals


def _real_module(name: str):
    def make(device: str) -> torch.nn.Module:
        with torch.device(device):
            return scalar_ops.MODELS[name]()

    return make


@pytest.mark.parametrize("name", MODELS)
def test_totals_equal_the_real_tools_on_the_real_model(name):
    """fvcore, ptflops, thop, torchinfo and FlopCounterMode on the user's model, against archcalc's conventions
    on its import (ptflops counts torch.add / torch.mul / x.add / x.mul with a constant, the operators not)."""
    graph = imported(name).graph
    report = analyse(graph)
    measured = tool_totals(_real_module(name), scalar_ops.INPUTS[name], PEER_TOOLS)
    predicted = {tool: count_convention(graph, report, tool).total for tool in PEER_TOOLS}
    assert measured == predicted


def test_ptflops_counts_the_patched_forms_only():
    graph = imported("methods").graph
    ptflops = count_convention(graph, analyse(graph), "ptflops")
    assert ptflops.total == 2 * 3 * 4 * 4  # x.mul(0.5), .add(1): not pow, sub, div, nor the in-place ones


@pytest.mark.parametrize("name", MODELS)
def test_export_spec_round_trip_and_check(name):
    graph = imported(name).graph
    again = load_spec_text(export_spec(graph), name)
    assert graph_difference(graph, again) is None
    assert analyse(again).totals == analyse(graph).totals
    assert [n.call for n in again.nodes] == [n.call for n in graph.nodes]
    verdicts = check(again).totals
    assert all(v.status != "differ" for v in verdicts), verdicts


def test_forms_that_are_no_constant_operand_stay_unsupported():
    report = analyse(import_model(scalar_ops.Unmappable, (3, 4, 4)).graph)
    assert [(gap.op, gap.reason) for gap in report.unsupported] == [
        ("torch.div", "rounds the quotient (rounding_mode='floor')"),
        ("torch.clamp", "its lower bound is a tensor, not a number"),
        ("operator.add", "the constant is inf, not a finite number")]  # fmt: skip


def test_an_integer_tensor_is_not_a_scalar_layer():
    report = analyse(import_model(scalar_ops.IntegerInput, (5,), input_dtype="int64").graph)
    [gap] = report.unsupported
    assert gap.op == "operator.add" and "computes on a int64 tensor" in gap.reason


def test_two_tensors_stay_the_add_merge():
    report = analyse(import_model(lambda: scalar_ops.Hooked(scalar_ops.Convolutional), (3, 6, 6)).graph)
    assert [layer.type for layer in report.layers].count("add") == 1 and report.complete


@pytest.mark.parametrize("layer, words", [
    ("{type: scalar, op: mul, value: .nan}", "attribute 'value' must be a finite number"),
    ("{type: scalar, op: mul, value: .inf}", "attribute 'value' must be a finite number"),
    ("{type: scalar, op: mul, value: half}", "undefined variable 'half'"),
    ("{type: scalar, op: mul, value: [1]}", "attribute 'value' must be a number"),
    ("{type: scalar, op: mod, value: 2}", "attribute 'op' must be one of add, sub, mul, div, pow"),
    ("{type: scalar, op: mul}", "scalar needs attribute 'value'"),
    ("{type: scalar, op: sub, value: 1, side: up}", "attribute 'side' must be one of right, left"),
    ("{type: scalar, op: sub, value: 1, side: left, inplace: true}", "the constant cannot stand on the left"),
    ("{type: scalar, op: div, value: 1, side: left, call: function}", "no torch function computes c / x"),
    ("{type: scalar, op: pow, value: 1, side: left, call: method}", "a Tensor method puts the constant on the right"),
    ("{type: scalar, op: mul, value: 1, inplace: true, call: function}", "torch has no in-place function form"),
    ("{type: clamp}", "clamp needs attribute 'min' or 'max'"),
    ("{type: clamp, min: low}", "undefined variable 'low'"),
    ("{type: sqrt, value: 2}", "sqrt has no attribute 'value'"),
])  # fmt: skip
def test_bad_values_are_one_line_exit_2(tmp_path, layer, words):
    spec = tmp_path / "bad.yaml"
    spec.write_text(f"input: [3, 4, 4]\nlayers:\n  - {{name: s, {layer[1:]}\n")
    result = CliRunner().invoke(app, ["report", str(spec)])
    assert_one_line_error(result, words)
    assert result.stderr.startswith(f"archcalc: error: {spec}:3: layer s: "), result.stderr


def test_report_module_from_the_command_line():
    from tests.conftest import ROOT

    path = ROOT / "tests" / "models" / "scalar_ops.py"
    result = CliRunner().invoke(app, ["report", "--module", f"{path}:Convolutional", "--input", "3x6x6",
                                      "--format", "json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert '"complete": true' in result.stdout


def test_the_everyday_scalars_model_imports_complete():
    from tests.models import everyday

    graph = import_model(everyday.Scalars, (2, 3, 3)).graph
    report = analyse(graph)
    assert report.complete and [layer.type for layer in report.layers] == [
        "scalar", "scalar", "scalar", "scalar", "add", "scalar", "scalar"]  # fmt: skip
    assert report.totals.flops == 7 * 18 and report.totals.macs == 0
