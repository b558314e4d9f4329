"""Round trips: spec -> torch module -> import -> the same analysis; graph -> export-spec -> the same graph.

Every built-in spec (the zoo grows; this follows it) is built as a real torch module on the meta device
(archcalc.torch_build), imported back with torch.fx and analysed: every layer's result must equal the
spec's, field by field. Every layer rule's table case (tests/test_layer_rules.py) is imported the same
way, from archcalc's builder and from the plain torch.nn reference module.
"""

from __future__ import annotations

from dataclasses import asdict

import pytest
import torch

from archcalc import analyse, load_spec, load_spec_text
from archcalc.importer import import_model
from archcalc.spec import builtin_specs
from archcalc.spec.export import export_spec, graph_difference
from archcalc.torch_build import build_module
from archcalc.layers import REGISTRY
from tests.test_layer_rules import CASES as CASES_2D
from tests.test_layer_rules import _yaml
from tests.test_layer_rules_nd import CASES as CASES_ND

CASES = CASES_2D + CASES_ND

BUILTINS = sorted(builtin_specs())


# `attributes` may spell the same layer differently (flatten's end -1 or 2); the results must agree.
def layer_rows(graph, ignore: tuple[str, ...] = ("line", "attributes")) -> list[dict]:
    rows = []
    for layer in analyse(graph).layers:
        row = asdict(layer)
        row.pop("signature")  # how the analysis numbered the layers that read alike, not a result
        for key in ignore:
            row.pop(key)
        # batchnorm3d's torch module imports as `batchnorm` (its `imported_as`): the same layer
        row["type"] = REGISTRY[row["type"]].imported_as or row["type"]
        rows.append(row)
    return rows


def assert_same_analysis(expected, actual, ignore: tuple[str, ...] = ("line", "attributes")) -> None:
    want, got = layer_rows(expected, ignore), layer_rows(actual, ignore)
    assert [row.get("name") for row in got] == [row.get("name") for row in want]
    for mine, theirs in zip(got, want):
        assert mine == theirs, {key: (mine[key], theirs[key]) for key in mine if mine[key] != theirs[key]}
    assert analyse(actual).totals == analyse(expected).totals


@pytest.mark.parametrize("name", BUILTINS)
def test_builtin_spec_survives_torch_and_import(name):
    graph = load_spec(name)
    result = import_model(build_module(graph), graph.input_shape, input_dtype=graph.input_dtype)
    assert result.method == "torch.fx" and not result.notes
    assert_same_analysis(graph, result.graph)
    assert analyse(result.graph).complete


@pytest.mark.parametrize("name", BUILTINS)
def test_export_loads_back_the_same_graph(name):
    graph = load_spec(name)
    text = export_spec(graph)
    assert graph_difference(graph, load_spec_text(text, name)) is None
    imported = import_model(build_module(graph), graph.input_shape, input_dtype=graph.input_dtype).graph
    assert graph_difference(imported, load_spec_text(export_spec(imported), name)) is None


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_layer_rule_imports_back(case):
    graph = load_spec_text(_yaml(case.layer, case.input), case.id)
    assert_same_analysis(graph, import_model(build_module(graph), graph.input_shape).graph)
    if case.reference is not None and case.id != "reshape":  # that reference is Flatten then Unflatten
        with torch.device("meta"):
            reference = case.reference()
        imported = import_model(reference, graph.input_shape).graph
        assert_same_analysis(graph, imported, ignore=("line", "attributes", "name", "inputs"))


def test_vgg16_exports_one_parametrised_block():
    text = export_spec(load_spec("vgg16"))
    assert text.count("params:") == 1 and text.count("block: ") == 13
    assert "out_channels: conv_out_channels" in text and "args: {conv_out_channels: 512}" in text
