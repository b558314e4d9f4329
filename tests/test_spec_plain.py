"""The fast path for plain layer entries (spec/plain.py) builds exactly the graph the general path builds."""

from __future__ import annotations

import pytest

import archcalc.spec.expand as expand
from archcalc.errors import ArchcalcError
from archcalc.spec import builtin_specs, load_spec, load_spec_text
from archcalc.spec.plain import NOT_ATTRIBUTES


def _nodes(graph):
    return [(n.name, n.type, n.attrs, n.inputs, n.line, n.file, n.weights, n.call) for n in graph.nodes]


def _general_only(monkeypatch):
    monkeypatch.setattr(expand, "expand_plain", lambda *args: None)


def test_not_attributes_are_the_entry_keys():
    assert NOT_ATTRIBUTES == frozenset(expand.COMMON_KEYS + expand.LAYER_KEYS + ("type",))


@pytest.mark.parametrize("name", ["resnet50", "vgg16", "mobilenet_v2", "unet"])
def test_zoo_graphs_are_the_same(name, monkeypatch):
    specs = builtin_specs()
    if name not in specs:
        pytest.skip(f"no built-in spec {name}")
    fast = load_spec(name)
    _general_only(monkeypatch)
    general = load_spec(name)
    assert _nodes(fast) == _nodes(general)
    assert fast.outputs == general.outputs


SPEC = """
input: [3, 8, 8]
layers:
  - {name: a, type: conv2d, out_channels: 4, kernel: 1}
  - {name: b, type: conv2d, out_channels: 4, kernel: 1}
  - {type: relu}
  - {type: relu}
  - {name: c, type: add, inputs: [a, b]}
  - {name: d, type: conv2d, out_channels: 4, kernel: 1, inputs: c}
"""


def test_repeated_entries_are_the_same(monkeypatch):
    fast = load_spec_text(SPEC)
    _general_only(monkeypatch)
    assert _nodes(fast) == _nodes(load_spec_text(SPEC))


@pytest.mark.parametrize("line, message", [
    ("  - {name: a, type: relu}", "duplicate name"),
    ("  - {name: e, type: add, inputs: [a]}", "takes at least 2"),
    ("  - {name: e.f, type: relu}", "bad layer name"),
    ("  - {name: e, type: []}", "unknown layer type"),  # hostile: an unhashable type (it crashed, exit 3)
    ("  - {name: e, type: {relu: 1}}", "unknown layer type"),
])  # fmt: skip
def test_errors_of_seen_entries_name_their_line(line, message):
    with pytest.raises(ArchcalcError) as caught:
        load_spec_text(SPEC + line + "\n")
    assert message in caught.value.message
    assert caught.value.line == SPEC.count("\n") + 1
