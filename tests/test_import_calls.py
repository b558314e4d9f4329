"""The importer records how a model invokes each layer (graph.CALLS): a layer mapped from a function call,
a Tensor method or an operator gets that form, when its type declares it. So `report --module ...
--convention <tool>` counts what the tool counts on the model itself: on torchvision's module trees
(tests/reference/, re-created from its source), every tool's total equals the profile's, to the unit.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from archcalc import analyse, load_spec
from archcalc.conventions import count_convention
from archcalc.conventions.peers import PEER_TOOLS
from archcalc.importer import import_model
from archcalc.torch_build import build_module
from tests.peer_check import tool_totals
from tests.reference import densenet, inception, mobile


class Calls(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 1)
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.act(self.conv(x))  # a module
        z = F.relu(x)  # a function
        pooled = torch.cat([y, z], 1) + F.max_pool2d(x, 1).repeat(1, 2, 1, 1)  # a function, an operator
        return torch.flatten(pooled.mean([2, 3]), 1)  # a method, then a function


def test_each_layer_gets_the_form_of_its_call():
    graph = import_model(Calls(), (4, 6, 6)).graph
    forms = {node.name.rsplit(".", 1)[-1]: (node.type, node.call) for node in graph.nodes}
    assert forms["act"] == ("relu", "module") and forms["relu"] == ("relu", "function")
    assert forms["cat"] == ("concat", "function") and forms["max_pool2d"] == ("max_pool2d", "function")
    assert forms["add"] == ("add", "operator") and forms["mean"] == ("global_avg_pool", "method")
    assert forms["flatten"] == ("flatten", "function")


def test_a_form_the_type_does_not_declare_is_counted_as_a_module():
    """F.relu6 is not nn.ReLU6's forward (F.hardtanh): relu6 takes no function form, and imports as a module."""
    graph = import_model(lambda: nn.Sequential(nn.Flatten(), nn.Linear(4, 4)), (4,)).graph
    assert {node.call for node in graph.nodes} == {"module"}


def test_the_zoo_specs_import_back_with_their_forms():
    graph = load_spec("inception_v3", input_shape=(3, 75, 75))
    imported = import_model(build_module(graph), (3, 75, 75)).graph
    assert [(n.name, n.type, n.call) for n in imported.nodes] == [(n.name, n.type, n.call) for n in graph.nodes]


REFERENCES = {
    "mobilenet_v2": (mobile.MobileNetV2, 16), "shufflenet_v2_x1_0": (lambda: mobile.ShuffleNetV2(1.0), 16),
    "densenet121": (lambda: densenet.DenseNet(32, (2, 2, 2, 2)), 29), "googlenet": (inception.MODELS["googlenet"], 15),
    "inception_v3": (inception.MODELS["inception_v3"], 75),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_report_module_convention_is_the_tool_on_the_module(name):
    make, size = REFERENCES[name]

    def reference(device: str) -> nn.Module:
        with torch.device("meta"):
            module = make().eval()
        return module if device == "meta" else module.to_empty(device=device).eval()

    graph = import_model(reference("meta"), (3, size, size)).graph
    report = analyse(graph)
    predicted = {tool: count_convention(graph, report, tool).total for tool in PEER_TOOLS}
    assert predicted == tool_totals(reference, (3, size, size))
