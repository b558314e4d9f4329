"""What a layer type owes: the checklist tests/test_conformance.py runs over every registered entry.

Each obligation is (text, check). A check gets the entry and its example cases (the layer's cases in
the rule tables against torch, with their input shapes) and returns True when the obligation is met.
docs/architecture.md lists the same texts (a test keeps them equal).
"""

from __future__ import annotations

import json
import sys
from typing import Callable

from archcalc import analyse, load_spec_text
from archcalc.analysis.explain import explain_layers
from archcalc.layers import REGISTRY, LayerType
from archcalc.layers.base import CATEGORIES
from tests.test_conventions_rules import CASES as CONVENTION_CASES_2D
from tests.test_conventions_rules_nd import CASES as CONVENTION_CASES_ND
from tests.test_conventions_rules_tokens import CASES as CONVENTION_CASES_TOKENS
from tests.test_layer_rules import CASES as RULE_CASES_2D
from tests.test_layer_rules_nd import CASES as RULE_CASES_ND
from tests.test_layer_rules_tokens import CASES as RULE_CASES_TOKENS

RULE_CASES = RULE_CASES_2D + RULE_CASES_ND + RULE_CASES_TOKENS
CONVENTION_CASES = CONVENTION_CASES_2D + CONVENTION_CASES_ND + CONVENTION_CASES_TOKENS


def examples(name: str, rule_cases: list | None = None) -> list:
    """(graph, report) of the layer's cases in the rule tables, the layer last."""
    found = []
    for case in RULE_CASES if rule_cases is None else rule_cases:
        if case.layer["type"] == name:
            spec = {"input": list(case.input), "input_dtype": case.input_dtype, "layers": [case.layer]}
            graph = load_spec_text(json.dumps(spec), case.id)
            found.append((graph, analyse(graph)))
    return found


def _overrides(layer: LayerType, method: str) -> bool:
    return getattr(type(layer), method) is not getattr(LayerType, method)


def _documented(layer: LayerType, _examples: list) -> bool:
    doc = sys.modules[type(layer).__module__].__doc__ or ""
    return layer.name in doc or bool(layer.family and layer.family in doc)


def _with_examples(check: Callable[[LayerType, list], bool]) -> Callable[[LayerType, list], bool]:
    """A check that needs the layer's examples: unmet (not vacuously met) when it has none."""
    return lambda layer, cases: bool(cases) and check(layer, cases)


def _has_words(layer: LayerType, cases: list) -> bool:
    computes = any(report.layers[-1].flops for _, report in cases)
    links = any(report.layers[-1].connections for _, report in cases)
    return (not computes or layer.flops_rule != "0") and (not links or layer.connections_rule != "0")


def _explained(layer: LayerType, cases: list) -> bool:
    for graph, report in cases:
        explanation, result = explain_layers(graph)[-1], report.layers[-1]
        if [f.value for f in explanation.shape] != result.output_shape:
            return False
        for name, key in (("params", "params"), ("MACs", "macs"), ("FLOPs", "flops"), ("connections", "connections")):
            if explanation.value(name) != getattr(result, key):
                return False
    return True


def _field_declared(layer: LayerType, cases: list) -> bool:
    """A layer that moves positions (changes the spatial size) must say how: IDENTITY would be wrong."""
    from archcalc.layers import IDENTITY

    for graph, report in cases:
        node, result = graph.nodes[-1], report.layers[-1]
        ins = [tuple(graph.input_shape)]
        if len(result.output_shape) == len(ins[0]) and tuple(result.output_shape[1:]) != ins[0][1:]:
            if node.rule.receptive_field(node.attrs, ins, tuple(result.output_shape)) == IDENTITY:
                return False
    return True


def _moves_only(layer: LayerType, cases: list) -> bool:
    if not layer.data_movement:
        return True
    return all(not (r.layers[-1].macs or r.layers[-1].flops or r.layers[-1].connections) for _, r in cases)


def _no_links_if_activation(layer: LayerType, cases: list) -> bool:
    return layer.category != "activation" or all(not r.layers[-1].connections for _, r in cases)


def _dense_means_products(layer: LayerType, cases: list) -> bool:
    return not layer.dense_macs or all(r.layers[-1].macs for _, r in cases)


def _imports(layer: LayerType, _cases: list) -> bool:
    if layer.imported_as:
        return layer.imported_as in REGISTRY and bool(REGISTRY[layer.imported_as].torch_import())
    return bool(layer.torch_import())


def _convention_case(layer: LayerType, _cases: list) -> bool:
    return any(entry["type"] == layer.name for param in CONVENTION_CASES for entry in param.values[1])


Check = Callable[[LayerType, list], bool]

OBLIGATIONS: list[tuple[str, Check]] = [
    ("a name, a one-line summary and a category from CATEGORIES",
     lambda layer, _: bool(layer.name and layer.summary and layer.category in CATEGORIES)),
    ("its formulas in the docstring of its module in archcalc/layers/", _documented),
    ("a case in tests/test_layer_rules.py (or _nd.py, _tokens.py) against its torch module: shapes, params, buffers, "
     "MACs by FlopCounterMode", lambda layer, cases: bool(cases)),
    ("a torch builder (`build_torch`) computing the same thing", lambda layer, _: _overrides(layer, "build_torch")),
    ("import rules (`torch_import`), or `imported_as` naming the type its torch modules import as", _imports),
    ("a case in tests/test_conventions_rules.py (or _nd.py, _tokens.py): the five real tools against their profiles",
     _convention_case),
    ("`flops_rule` and `connections_rule` in words when it computes FLOPs or connections", _with_examples(_has_words)),
    ("`explain_shape` and `explain_counts` giving the rules' numbers", _with_examples(_explained)),
    ("a `receptive_field` rule when it changes the spatial size (IDENTITY only keeps positions)",
     _with_examples(_field_declared)),
    ("`data_movement` only when it does no arithmetic", _with_examples(_moves_only)),
    ("no connections for an activation (a squashing function belongs to its unit)",
     _with_examples(_no_links_if_activation)),
    ("`dense_macs` only when its MACs are convolution or matrix products", _with_examples(_dense_means_products)),
]


def unmet(layer: LayerType, rule_cases: list | None = None) -> list[str]:
    """The obligations `layer` does not meet; without a rule case, those that need an example are unmet."""
    cases = examples(layer.name, rule_cases)
    return [text for text, check in OBLIGATIONS if not check(layer, cases)]


def checklist(name: str, missing: list[str]) -> str:
    lines = [f"layer type {name!r} is incomplete; a layer type owes:"]
    lines += [f"  [{' ' if text in missing else 'x'}] {text}" for text, _ in OBLIGATIONS]
    return "\n".join(lines)
