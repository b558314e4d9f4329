"""tests/data/torchvision_peer_totals.json: the peer tools measured on torchvision's own modules (issue 14,
section 8), made by `make peer-totals` in .venv-real. This environment has no torchvision, so the
tests check that the data is whole and belongs to this repository: its schema, the versions it was
measured with (those requirements-realmodels.lock pins), one entry for every zoo spec named like a
torchvision constructor, at the spec's default input, with the spec's parameter and buffer counts.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
from packaging.version import Version

from archcalc import analyse, load_spec
from archcalc.conventions import count_convention

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "torchvision_peer_totals.json"
LOCK = ROOT / "requirements-realmodels.lock"
TOOLS = ("fvcore", "ptflops", "thop", "torchinfo", "torch")

_COUNT = {"type": "integer", "minimum": 1}
_SHAPE = {"type": "array", "items": {"type": "integer", "minimum": 1}}
SCHEMA = {
    "type": "object",
    "required": ["generated_by", "versions", "tools", "torchvision_classification_models", "models"],
    "properties": {
        "versions": {"type": "object", "required": ["torch", "torchvision", "fvcore", "ptflops", "thop", "torchinfo",
                                                    "python"],
                     "additionalProperties": {"type": "string", "minLength": 1}},
        "tools": {"type": "object", "required": list(TOOLS)},
        "torchvision_classification_models": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        "models": {"type": "object", "minProperties": 1, "additionalProperties": {
            "type": "object",
            "required": ["constructor", "constructor_args", "input", "params", "buffers", "totals", "function_calls"],
            "properties": {
                "input": {**_SHAPE, "minItems": 1}, "params": _COUNT, "buffers": {"type": "integer", "minimum": 0},
                "totals": {"type": "object", "required": list(TOOLS), "additionalProperties": _COUNT},
                "function_calls": {"type": "array", "items": {
                    "type": "object", "required": ["node", "function", "module", "input_shapes", "output_shapes"],
                    "properties": {"function": {"type": "string", "minLength": 1}, "module": {"type": "string"},
                                   "input_shapes": {"type": "array", "items": _SHAPE},
                                   "output_shapes": {"type": "array", "items": _SHAPE}}}},
            }}},
    },
}  # fmt: skip


@pytest.fixture(scope="module")
def data() -> dict:
    return json.loads(DATA.read_text())


def locked_versions() -> dict[str, str]:
    pins = {}
    for line in LOCK.read_text().splitlines():
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)==(\S+)", line.strip())
        if match:
            pins[match.group(1).lower().replace("_", "-")] = match.group(2)
    return pins


def test_schema(data):
    jsonschema.validate(data, SCHEMA)


@pytest.mark.parametrize("package", ["torch", "torchvision", "fvcore", "ptflops", "thop", "torchinfo"])
def test_measured_with_the_locked_versions(data, package):
    """Figures from other versions are other figures: regenerate with `make peer-totals` after a lock change."""
    measured = data["versions"][package].split("+")[0]  # torch's local tag (+cu130) is the build, not the release
    assert Version(measured) == Version(locked_versions()[package])


def test_one_entry_per_zoo_spec_named_like_a_torchvision_constructor(data):
    constructors = set(data["torchvision_classification_models"])
    zoo = {path.stem for path in (ROOT / "specs").glob("*.yaml")}
    assert set(data["models"]) == zoo & constructors
    assert {"mobilenet_v2", "densenet121", "googlenet", "shufflenet_v2_x1_0", "resnet50", "vgg16"} <= set(data["models"])


def test_measured_at_the_default_input_of_the_spec_with_its_counts(data):
    """Same input, and torchvision's module has exactly the spec's parameters and buffers: the tools
    measured the architecture the spec describes (with the recorded constructor arguments)."""
    for name, entry in data["models"].items():
        report = analyse(load_spec(name))
        assert (name, entry["input"]) == (name, list(report.input_shape))
        assert (name, entry["params"], entry["buffers"]) == (name, report.totals.params, report.totals.buffers)


def test_totals_are_each_tools_own_kind_of_number(data):
    for name, entry in data["models"].items():
        totals = entry["totals"]
        assert totals["torch"] % 2 == 0, name  # FlopCounterMode: 2 per multiply-add
        # Multiply-adds: FlopCounterMode's matmul and conv FLOPs are twice the MACs fvcore counts for them,
        # and fvcore adds only cheap extras (norms, pools), never more than a fraction on these CNNs.
        assert totals["torch"] // 2 <= totals["fvcore"] < totals["torch"], name


def test_function_calls_name_the_known_examples(data):
    """The calls issue 14 names: torchvision computes these with functions, not modules."""

    def functions(name: str) -> set[str]:
        return {(call["function"], call["module"]) for call in data["models"][name]["function_calls"]}

    assert ("torch.nn.functional.adaptive_avg_pool2d", "") in functions("mobilenet_v2")
    assert ("torch.Tensor.mean", "") in functions("shufflenet_v2_x1_0")
    assert ("torch.nn.functional.relu", "") in functions("densenet121")
    assert ("torch.nn.functional.avg_pool2d", "Mixed_5b") in functions("inception_v3")  # named as F.<name>
    assert ("torch.nn.functional.max_pool2d", "Mixed_6a") in functions("inception_v3")
    assert not {f for f, _ in functions("vgg16")} - {"torch.flatten"}  # vgg16: modules everywhere but flatten


def _entries() -> list:
    models = json.loads(DATA.read_text())["models"]
    return [pytest.param(name, tool, models[name]["totals"][tool], id=f"{name}-{tool}")
            for name in sorted(models) for tool in TOOLS]


@pytest.mark.parametrize("name, tool, recorded", _entries())
def test_the_convention_on_the_zoo_spec_is_the_tool_on_torchvisions_module(name, tool, recorded):
    """`report <spec> --convention <tool>` gives, to the unit, what the tool gave on torchvision's model.
    The specs say where torchvision calls a function, a method or an operator (`call:`); see
    docs/conventions.md, "torchvision's function calls"."""
    graph = load_spec(name)
    assert count_convention(graph, analyse(graph), tool).total == recorded


# What each recorded function call is in a spec: (layer types, call form). Calls no tool counts (torch.cat,
# operators, torch.flatten, the shuffle's view and transpose, x.chunk) are marked too, but not one for one
# (DenseNet's blocks concatenate once more than their layers, a chunk is two slices), so they are left out here.
COUNTED_CALLS = {
    "torch.nn.functional.relu": ({"relu"}, "function"),
    "torch.nn.functional.avg_pool2d": ({"avg_pool2d"}, "function"),
    "torch.nn.functional.max_pool2d": ({"max_pool2d"}, "function"),
    "torch.nn.functional.adaptive_avg_pool2d": ({"adaptive_avg_pool2d", "global_avg_pool"}, "function"),
    "torch.Tensor.mean": ({"global_avg_pool"}, "method"),
}


def test_the_specs_mark_each_counted_function_call_torchvision_makes(data):
    """One spec layer per recorded call that some tool can tell from a module, and no other such layer."""
    for name, entry in data["models"].items():
        graph = load_spec(name)
        for function, (types, call) in COUNTED_CALLS.items():
            recorded = sum(c["function"] == function for c in entry["function_calls"])
            marked = sum(node.type in types and node.call == call for node in graph.nodes)
            assert (name, function, marked) == (name, function, recorded)
