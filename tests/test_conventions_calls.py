"""A layer invoked as a function, a Tensor method or an operator (a spec's `call:`), against the real tools.

Every (layer type, call form) an entry declares (`LayerType.calls`) is run, at every rank the convention
cases cover, through fvcore, ptflops, thop, torchinfo and torch's FlopCounterMode on archcalc's build
(which then computes the layer outside any module hook), and each tool's total must equal its profile's
prediction: the cases of tests/test_conventions_rules*.py with `call:` added to the layer they test.
"""

from __future__ import annotations

import pytest

from archcalc import load_spec_text
from archcalc.errors import ArchcalcError
from archcalc.graph import CALLS
from archcalc.layers import REGISTRY
from archcalc.torch_build import build_module
from tests.test_conventions_rules import CASES as CASES_2D
from tests.test_conventions_rules import _spec, assert_tools_agree, case
from tests.test_conventions_rules_nd import CASES as CASES_ND

# Forms the plain cases cannot show: a global pool as x.mean keeping its 1 x 1 axes, and dropping them.
EXTRA = [
    case("global_avg_pool-mean-keep", (4, 6, 6), {"type": "global_avg_pool"}),
    case("global_avg_pool-mean-drop", (4, 6, 6), {"type": "global_avg_pool", "keep_dims": False}),
    case("global_max_pool-amax-drop", (4, 3, 5, 6), {"type": "global_max_pool", "keep_dims": False}),
]


def _invoked_cases() -> list:
    """Each base case whose last layer's type declares call forms, once per form."""
    out = []
    for param in CASES_2D + CASES_ND + EXTRA:
        shape, layers = param.values
        tested = layers[-1]
        layer = REGISTRY[tested["type"]]
        attrs = layer.resolve_attrs({k: v for k, v in tested.items() if k not in ("name", "type", "inputs")}, {})
        for call in layer.calls:
            if layer.call_refused(attrs, call):
                continue  # F.adaptive_*_pool keeps the axes, x.sub(c) cannot be c - x (test_a_call_form_..._refused)
            out.append(pytest.param(shape, layers[:-1] + [{**tested, "call": call}], id=f"{param.id}-{call}"))
    return out


INVOKED = _invoked_cases()


@pytest.mark.parametrize("input_shape, layers", INVOKED)
def test_each_tool_counts_an_invoked_layer_as_its_profile_predicts(input_shape, layers):
    assert_tools_agree(input_shape, layers)


def test_every_declared_call_form_has_a_case():
    assert all(call in CALLS[1:] and text for layer in REGISTRY.values() for call, text in layer.calls.items())
    covered = {(layers[-1]["type"], layers[-1]["call"]) for _, layers in (p.values for p in INVOKED)}
    declared = {(layer.family, call) for layer in REGISTRY.values() for call in layer.calls}
    assert {(REGISTRY[name].family, call) for name, call in covered} >= declared


def test_only_parameter_free_types_take_call_forms():
    """archcalc's build keeps an invoked layer out of the module tree: it must own no parameters or buffers."""
    for param in INVOKED:
        shape, layers = param.values
        module = build_module(load_spec_text(_spec(shape, layers[:-1] + [{**layers[-1], "call": "module"}])))
        tested = module.node_module(module.node_names[-1])
        assert sum(t.numel() for t in list(tested.parameters()) + list(tested.buffers())) == 0, param.id


def test_the_build_runs_an_invoked_layer_outside_the_module_tree():
    graph = load_spec_text(_spec([4, 6, 6], [{"name": "r", "type": "relu", "call": "function"},
                                             {"name": "p", "type": "max_pool2d", "kernel": 2}]))
    module = build_module(graph)
    assert [type(m).__name__ for _, m in module.named_modules()][1:] == ["Invoked", "MaxPool2d"]


@pytest.mark.parametrize("layer, message", [
    ({"type": "relu", "call": "fuction"}, r"'call' must be one of module, function, method, operator, got "
                                          r"'fuction' \(did you mean 'function'\?\)"),
    ({"type": "relu", "call": 3}, "'call' must be one of module, function, method, operator, got 3"),
    ({"type": "relu6", "call": "function"}, "relu6 is not invoked as a function here: archcalc builds and counts "
                                            "it as a module only"),
    ({"type": "conv2d", "out_channels": 2, "kernel": 1, "call": "method"}, "conv2d is not invoked as a method"),
    ({"type": "global_avg_pool", "call": "operator"}, r"or as function \(F.adaptive_avg_pool2d"),
])  # fmt: skip
def test_a_bad_call_is_an_error_naming_the_layer(layer, message):
    with pytest.raises(ArchcalcError, match=message) as caught:
        load_spec_text(_spec([4, 6, 6], [{"name": "stem", "type": "identity"}, {"name": "act", **layer}]))
    assert caught.value.path == "act"


def test_a_call_form_that_cannot_be_is_refused():
    with pytest.raises(ArchcalcError, match="keeps the pooled axes as 1 x 1: set keep_dims: true"):
        load_spec_text(_spec([4, 6, 6], [{"type": "global_avg_pool", "keep_dims": False, "call": "function"}]))
