"""`archcalc explain`: every formula gives the number `report` gives, for every layer type and every
built-in spec; formulas print in the notes' style; bad layer names get one line and exit 2."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from archcalc import analyse, load_spec, load_spec_text
from archcalc.analysis.explain import explain_layers
from archcalc.cli import app
from archcalc.layers import REGISTRY
from archcalc.layers.base import spatial_names
from archcalc.layers.formula import Const, Formula, Term, ceil, floor, product
from archcalc.spec import builtin_specs
from tests.cli_errors import assert_one_line_error
from tests.conftest import check_golden
from tests.test_layer_rules import CASES as CASES_2D
from tests.test_layer_rules import MERGE_SPEC, _yaml
from tests.test_layer_rules_nd import CASES as CASES_ND
from tests.test_layer_rules_tokens import CASES as CASES_TOKENS

# The token types' cases too: MViT's types have no built-in spec to cover them.
CASES = CASES_2D + CASES_ND + [case for case in CASES_TOKENS if case.layer["type"] in
                               ("multiscale_attention", "token_pool", "grid_positions", "relative_position_bias",
                                "relative_position_attention", "roll", "relative_position_product", "slice_scatter",
                                "resized_position_embedding", "fourier_position_encoding")]  # fmt: skip

runner = CliRunner()
SPECS = sorted(builtin_specs())
COUNTS = {"params": "params", "buffers": "buffers", "MACs": "macs", "FLOPs": "flops", "connections": "connections",
          "activations": "activations"}  # fmt: skip


def assert_explanations_match_report(graph, batch: int = 1) -> None:
    report = analyse(graph, batch=batch)
    explanations = explain_layers(graph, batch=batch)
    assert [e.name for e in explanations] == [layer.name for layer in report.layers]
    for explained, layer in zip(explanations, report.layers):
        where = f"{graph.name}: {layer.name} ({layer.type})"
        assert [f.value for f in explained.shape] == layer.output_shape, where
        for name, key in COUNTS.items():
            assert explained.value(name) == getattr(layer, key), f"{where}: {name}"
        field = {f.name[0]: f.value for f in explained.receptive_field if len(f.name) == 1}
        per_axis = {f.name: f.value for f in explained.receptive_field}
        if layer.receptive_field is None:
            assert explained.receptive_field == [] and explained.rf_note.startswith("not defined"), where
            continue
        rank = len(layer.receptive_field)  # one entry per spatial axis
        for symbol, values in (("r", layer.receptive_field), ("j", layer.effective_stride),
                               ("P", layer.effective_padding)):  # fmt: skip
            if field:
                assert [field[symbol]] * rank == values, where
            else:
                axes = [f"{symbol}_{name.lower()}" for name in spatial_names(rank)]
                assert [per_axis[name] for name in axes] == values, where


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_every_rule_case_explains_the_reported_numbers(case):
    assert_explanations_match_report(load_spec_text(_yaml(case.layer, case.input), case.id))


def test_merges_explain_the_reported_numbers():
    assert_explanations_match_report(load_spec_text(MERGE_SPEC), batch=2)


@pytest.mark.parametrize("spec", SPECS)
def test_every_layer_of_every_builtin_spec(spec):
    graph = load_spec(spec)
    assert_explanations_match_report(graph)
    assert_explanations_match_report(graph, batch=3)


def test_every_registered_layer_type_is_explained_somewhere():
    """A new layer type needs a case in test_layer_rules.CASES or a built-in spec using it, so the
    check above covers its explain_shape and explain_counts."""
    covered = {case.layer["type"] for case in CASES}
    covered |= {node.type for node in load_spec_text(MERGE_SPEC).nodes}
    for spec in SPECS:
        covered |= {node.type for node in load_spec(spec).nodes}
    assert sorted(set(REGISTRY) - covered) == []


def test_formula_text_and_exact_values():
    stem = Formula("params", (Term("k_h", 7) * Term("k_w", 7) * Term("C_in", 3) + 1) * Term("C_out", 64))
    assert stem.line() == "params = (k_h×k_w×C_in + 1) × C_out = (7×7×3 + 1) × 64 = 9,472"
    height = floor((Term("H", 224) + 3 + 3 - Term("k", 7)) / Term("s", 2)) + 1
    expected = "H_out = ⌊(H + 3 + 3 − k) / s⌋ + 1 = ⌊(224 + 3 + 3 − 7) / 2⌋ + 1 = 112"
    assert Formula("H_out", height).line() == expected
    assert Formula("x", ceil(Term("a", 7) / Term("b", 2))).value == 4
    nested = Formula("x", Term("a", 9) - (Term("b", 5) - Term("c", 2)))
    assert nested.line() == "x = a − (b − c) = 9 − (5 − 2) = 6"
    assert Formula("x", product([Const(2), Term("n", 3)]) / 3).value == 2
    assert Formula("x", Term("big", 10**20) * 3).value == 3 * 10**20  # exact, no float rounding
    with pytest.raises(ValueError):
        _ = Formula("x", Term("a", 7) / 2).value


def cli(*args: str):
    return runner.invoke(app, list(args))


def test_stem_conv_in_the_notes_style():
    result = cli("explain", "examples/stem_7x7", "conv")
    assert result.exit_code == 0, result.output
    assert "params = (k_h×k_w×C_in + 1) × C_out = (7×7×3 + 1) × 64 = 9,472" in result.stdout
    assert "MACs = k_h×k_w×C_in×C_out×H_out×W_out = 7×7×3×64×112×112 = 118,013,952" in result.stdout
    assert "H_out = ⌊(H + p_t + p_b − k_h) / s_h⌋ + 1 = ⌊(224 + 3 + 3 − 7) / 2⌋ + 1 = 112" in result.stdout
    assert "r = r_in + (k − 1) × j_in = 1 + (7 − 1) × 1 = 7" in result.stdout


def test_json_values_equal_report_for_a_dilated_stack():
    data = json.loads(cli("explain", "examples/dilated_124", "conv3", "--format", "json").stdout)
    report = analyse(load_spec("examples/dilated_124"))
    counts = {f["name"]: f["value"] for f in data["counts"]}
    assert counts["MACs"] == report.layer("conv3").macs
    rf = {f["name"]: f["value"] for f in data["receptive_field"]}
    assert rf["r"] == 15 == report.layer("conv3").receptive_field[0]
    assert next(f for f in data["receptive_field"] if f["name"] == "r")["formula"] == "r_in + d × (k − 1) × j_in"


def test_totals_explain_sums_and_heaviest_layers():
    result = cli("explain", "vgg16")
    assert result.exit_code == 0, result.output
    assert "params = conv + linear = 14,714,688 + 123,642,856 = 138,357,544" in result.stdout
    assert "heaviest layers by params\n  fc6 (linear, 74.3% of the total)" in result.stdout
    assert "(25,088 + 1) × 4,096 = 102,764,544" in result.stdout


@pytest.mark.parametrize("args, golden", [
    (("examples/stem_7x7", "conv"), "explain_stem_7x7_conv.md"),
    (("examples/depthwise_separable",), "explain_depthwise_separable.md"),
    (("alexnet_original", "conv2", "--batch", "2"), "explain_alexnet_conv2.md"),
])  # fmt: skip
def test_goldens(args, golden, update_goldens):
    result = cli("explain", *args, "--format", "markdown")
    assert result.exit_code == 0, result.output
    check_golden(golden, result.stdout, update_goldens)


@pytest.mark.parametrize("args, message", [
    (("vgg16", "conv5_3.con"), "no layer named 'conv5_3.con' in vgg16 (did you mean 'conv5_3.conv'?)"),
    (("vgg16", "input"), "the input is not a layer"),
    (("vgg16", "fc6", "--format", "csv"), "unknown format 'csv'; choose from text, markdown, json"),
    (("vgg16", "fc6", "--batch", "0"), "batch must be a positive integer"),
    (("vgg16", "--dtype", "float13"), "unknown dtype 'float13'"),
    (("vgg16", "--set", "width=2"), "the spec has no variable 'width'"),
])  # fmt: skip
def test_bad_input_is_one_line_and_exit_2(args, message):
    result = cli("explain", *args)
    assert_one_line_error(result, message)
