"""The zoo specs say where torchvision computes a step with a function, a Tensor method or an operator
instead of a module (`call:`), and archcalc's build then does the same. So each tool counts archcalc's
build exactly as it counts torchvision's module, and as the profile predicts: module hook tools (ptflops,
thop, torchinfo) never see F.relu, F.avg_pool2d, x.mean, ..., and ptflops' patched functionals count
some of them once; fvcore and FlopCounterMode see aten ops either way (x.mean is aten::mean, no fvcore
handle).

Each case runs the five tools on the reference module (tests/reference/, torchvision's module tree
re-created from its source) and on archcalc's build; all three numbers must agree. The figures measured
on torchvision itself are tests/data/torchvision_peer_totals.json (tests/test_torchvision_peer_totals.py).
"""

from __future__ import annotations

import pytest
import torch

from archcalc import analyse, load_spec
from archcalc.conventions import count_convention
from archcalc.conventions.peers import PEER_TOOLS
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
    predicted = {tool: count_convention(graph, report, tool).total for tool in PEER_TOOLS}
    assert theirs == ours == predicted


def test_the_call_forms_make_a_difference():
    """Guard against a vacuous check: without the specs' call forms, the module hook tools count otherwise."""
    for name, tool in (("googlenet", "ptflops"), ("inception_v3", "thop"), ("mobilenet_v2", "thop")):
        graph = load_spec(name, input_shape=(3, 80, 80))
        as_modules = load_spec(name, input_shape=(3, 80, 80))
        for node in as_modules.nodes:
            node.call = "module"
        assert count_convention(graph, analyse(graph), tool).total != count_convention(
            as_modules, analyse(as_modules), tool).total, (name, tool)
