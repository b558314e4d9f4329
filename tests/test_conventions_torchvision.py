"""The profiles reproduce a tool on archcalc's torch build of a spec. How far is that from the tool on
torchvision's own module? Module classes are the same (tests/test_zoo_*.py), so every difference
comes from operations torchvision calls as functions where archcalc builds a module: hooks on module
classes (ptflops, thop) see the module but not the function. fvcore and FlopCounterMode see aten
ops either way; torchinfo only counts parameters.

Each case runs the five tools on the reference module (tests/reference/, torchvision's module tree
re-created from its source) and on archcalc's build, and asserts that the difference is exactly what
the function calls predict (zero for the models that call no counted function).
"""

from __future__ import annotations

import pytest
import torch

from archcalc import analyse, load_spec
from archcalc.conventions import count_convention
from archcalc.conventions.base import LayerView
from archcalc.conventions.peers import PEER_TOOLS
from archcalc.graph import INPUT
from tests.peer_check import spec_module, tool_totals
from tests.reference import classic, densenet, inception, mobile, resnet

REFERENCES = {
    "alexnet": classic.MODELS["alexnet"], "vgg16_bn": classic.MODELS["vgg16_bn"],
    "squeezenet1_1": classic.MODELS["squeezenet1_1"], "resnet50": resnet.MODELS["resnet50"],
    "googlenet": inception.MODELS["googlenet"], "inception_v3": inception.MODELS["inception_v3"],
    "densenet121": lambda: densenet.DenseNet(32, (2, 2, 2, 2)), "mobilenet_v2": mobile.MobileNetV2,
    "mobilenet_v3_small": lambda: mobile.MobileNetV3("small"), "shufflenet_v2_x1_0": lambda: mobile.ShuffleNetV2(1.0),
    "efficientnet_b0": mobile.EfficientNet,
}  # fmt: skip
# DenseNet-121's structure with two layers per block: the same function calls at a fraction of the cost.
OVERRIDES = {"densenet121": {"block_config": [2, 2, 2, 2]}}
SIZES = {"alexnet": 63, "googlenet": 15, "inception_v3": 75, "densenet121": 29, "squeezenet1_1": 17,
         "vgg16_bn": 32}  # the smallest each accepts; otherwise 1

# The spec layers that torchvision computes with a function call instead of a module.
FUNCTION_CALLS = {
    "googlenet": [("F.relu", lambda n: n.type == "relu")],  # BasicConv2d
    "inception_v3": [("F.relu", lambda n: n.type == "relu"),  # BasicConv2d
                     ("F.avg_pool2d", lambda n: n.type == "avg_pool2d" and n.name.endswith(".pool")),
                     ("F.max_pool2d", lambda n: n.type == "max_pool2d" and n.name.endswith(".pool"))],
    "densenet121": [("F.relu", lambda n: n.name == "relu"), ("F.adaptive_avg_pool2d", lambda n: n.name == "avgpool")],
    "mobilenet_v2": [("F.adaptive_avg_pool2d", lambda n: n.name == "avgpool")],
    "shufflenet_v2_x1_0": [("Tensor.mean", lambda n: n.name == "globalpool")],  # x.mean([2, 3])
}  # fmt: skip


def _in(v: LayerView) -> int:
    return v.in_elems


# What each tool counts for those calls (no module hook; ptflops' patched functionals count their input;
# fvcore has a handle for aten::adaptive_avg_pool2d only; thop and torchinfo see no function at all).
FUNCTION_COUNT = {
    "fvcore": {"F.adaptive_avg_pool2d": _in},
    "ptflops": {"F.relu": _in, "F.avg_pool2d": _in, "F.max_pool2d": _in, "F.adaptive_avg_pool2d": _in},
}


def expected_difference(name: str, graph, report, tool: str) -> int:
    """(tool on torchvision's module) - (tool on archcalc's build), from the function calls."""
    profile_counts = count_convention(graph, report, tool).layers
    shapes = {INPUT: tuple(graph.input_shape)} | {layer.name: tuple(layer.output_shape) for layer in report.layers}
    difference = 0
    for function, selects in FUNCTION_CALLS.get(name, []):
        count = FUNCTION_COUNT.get(tool, {}).get(function, lambda v: 0)
        for position, node in enumerate(graph.nodes):
            if selects(node):
                view = LayerView(node.rule, node.attrs, [shapes[i] for i in node.inputs], shapes[node.name], 1, 0)
                difference += count(view) - profile_counts[position]
    return difference


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_tools_on_torchvision_structure_differ_only_by_function_calls(name):
    size = SIZES.get(name, 1)
    graph = load_spec(name, OVERRIDES.get(name), input_shape=(3, size, size))
    report = analyse(graph)

    def reference(device: str) -> torch.nn.Module:
        with torch.device("meta"):
            module = REFERENCES[name]().eval()
        return module if device == "meta" else module.to_empty(device=device).eval()

    theirs = tool_totals(reference, (3, size, size))
    ours = tool_totals(spec_module(graph), (3, size, size))
    for tool in PEER_TOOLS:
        assert theirs[tool] - ours[tool] == expected_difference(name, graph, report, tool), tool


def test_the_function_calls_make_a_difference():
    """Guard against a vacuous table: the predicted differences are real numbers for these models."""
    graph = load_spec("googlenet", input_shape=(3, 32, 32))
    assert expected_difference("googlenet", graph, analyse(graph), "ptflops") < 0
    graph = load_spec("shufflenet_v2_x1_0", input_shape=(3, 32, 32))
    assert expected_difference("shufflenet_v2_x1_0", graph, analyse(graph), "fvcore") == -1024
