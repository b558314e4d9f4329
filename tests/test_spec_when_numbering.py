"""`when:` and the numbering of unnamed items: a dropped unnamed item takes no number, so specs name
their nodes as an nn.Sequential built with conditional appends does (torchvision's MobileNet blocks)."""

from __future__ import annotations

import pytest

from archcalc.errors import ArchcalcError
from archcalc.spec import load_spec_text

SPEC = """
input: [4, 8, 8]
variables: {expand: false}
layers:
  - name: block
    layers:
      - {type: conv2d, out_channels: 8, kernel: 1, when: expand}
      - {type: conv2d, out_channels: 4, kernel: 3, padding: 1}
      - {type: batchnorm}
      - {name: skipped, type: relu, when: expand}
      - {type: relu}
  - {name: add, type: add, inputs: [block, skipped_ref]}
  - {name: skipped_ref, type: identity, inputs: block.skipped}
"""


def names(expand: bool) -> list[str]:
    return [node.name for node in load_spec_text(SPEC, "when", {"expand": expand}).nodes]


def test_dropped_unnamed_items_take_no_number():
    assert names(False)[:3] == ["block.0", "block.1", "block.2"]
    # a kept named item keeps its place in the count, as before
    assert names(True)[:5] == ["block.0", "block.1", "block.2", "block.skipped", "block.4"]


def test_a_dropped_named_item_still_stands_for_its_input():
    graph = load_spec_text(SPEC, "when", {"expand": False})
    assert graph.node("skipped_ref").inputs == ["block.1"]  # the batchnorm before the dropped relu


def test_reference_by_number_follows_the_kept_items():
    text = """
input: [4]
layers:
  - {type: linear, out_features: 3, when: false}
  - {type: linear, out_features: 5}
  - {name: head, type: linear, out_features: 2, inputs: "0"}
"""
    graph = load_spec_text(text, "numbers")
    assert graph.node("head").inputs == ["0"] and graph.node("0").attrs["out_features"] == 5


def test_duplicate_explicit_and_positional_names_are_still_caught():
    text = """
input: [4]
layers:
  - {type: linear, out_features: 3}
  - {name: "0", type: linear, out_features: 5}
"""
    with pytest.raises(ArchcalcError, match="duplicate name"):
        load_spec_text(text, "dup")
