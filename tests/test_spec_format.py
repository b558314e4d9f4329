"""The spec format: sequences, DAGs, blocks, repeat, when, naming, variables and overrides."""

from __future__ import annotations

import json

import pytest

from archcalc import ArchcalcError, analyse, load_spec, load_spec_text
from archcalc.expr import evaluate, make_divisible

RESNET_LIKE = """
name: tiny_resnet
input: [3, 32, 32]
variables:
  width: 1.0
  base: "int(16 * width)"
  stages: [2, 1]
blocks:
  basic:
    params: {planes: null, stride: 1, downsample: false}
    layers:
      - {name: conv1, type: conv2d, out_channels: planes, kernel: 3, stride: stride, padding: 1, bias: false}
      - {name: bn1, type: batchnorm}
      - {name: relu1, type: relu}
      - {name: conv2, type: conv2d, out_channels: planes, kernel: 3, padding: 1, bias: false}
      - {name: bn2, type: batchnorm}
      - name: downsample
        when: downsample
        inputs: input
        layers:
          - {type: conv2d, out_channels: planes, kernel: 1, stride: stride, bias: false}
          - {type: batchnorm}
      - {name: add, type: add, inputs: [bn2, downsample]}
      - {name: relu2, type: relu}
layers:
  - {name: conv1, type: conv2d, out_channels: base, kernel: 3, padding: 1, bias: false}
  - {type: batchnorm}
  - relu
  - {name: layer1, block: basic, repeat: "stages[0]", args: {planes: base}}
  - {name: layer2, block: basic, repeat: "stages[1]",
     args: {planes: "base * 2", stride: "2 if i == 0 else 1", downsample: "i == 0"}}
  - {name: pool, type: global_avg_pool}
  - {type: flatten}
  - {name: fc, type: linear, out_features: 10}
"""


def names(graph) -> list[str]:
    return [node.name for node in graph.nodes]


def test_blocks_repeat_and_hierarchical_names():
    graph = load_spec_text(RESNET_LIKE)
    got = names(graph)
    assert got[:3] == ["conv1", "1", "2"]  # unnamed layers are named by position, like nn.Sequential
    assert "layer1.0.conv1" in got and "layer1.1.add" in got
    assert "layer2.0.downsample.0" in got and "layer2.0.downsample.1" in got
    assert not any(name.startswith("layer1.0.downsample") for name in got)  # dropped by `when`
    assert graph.node("layer1.0.add").inputs == ["layer1.0.bn2", "2"]  # dropped downsample means its input
    assert graph.node("layer1.1.add").inputs == ["layer1.1.bn2", "layer1.0.relu2"]
    assert graph.node("layer2.0.add").inputs == ["layer2.0.bn2", "layer2.0.downsample.1"]
    assert graph.node("layer2.0.conv1").attrs["stride"] == (2, 2)
    assert graph.outputs == ["fc"]
    report = analyse(graph)
    assert report.layer("layer2.0.add").output_shape == [32, 16, 16]


def test_variables_and_overrides_flow_through_expressions():
    wide = analyse(load_spec_text(RESNET_LIKE, overrides={"width": 2.0}))
    assert wide.layer("conv1").output_shape == [32, 32, 32]
    deeper = load_spec_text(RESNET_LIKE, overrides={"stages": [3, 2]})
    assert "layer1.2.conv1" in names(deeper) and "layer2.1.conv1" in names(deeper)


def test_input_override():
    report = analyse(load_spec_text(RESNET_LIKE, input_shape=(3, 64, 64)))
    assert report.input_shape == [3, 64, 64]
    assert report.layer("layer2.0.add").output_shape == [32, 32, 32]


def test_forward_references_are_sorted_topologically():
    graph = load_spec_text("""
input: [2, 8, 8]
layers:
  - {name: out, type: add, inputs: [left, right]}
  - {name: left, type: relu, inputs: input}
  - {name: right, type: sigmoid, inputs: input}
outputs: out
""")
    assert names(graph) == ["left", "right", "out"]


def test_outputs_and_dotted_references():
    graph = load_spec_text("""
input: [2, 8, 8]
layers:
  - name: trunk
    layers:
      - {name: a, type: conv2d, out_channels: 4, kernel: 3, padding: 1}
      - {name: b, type: relu}
  - {name: head1, type: conv2d, out_channels: 2, kernel: 1, inputs: trunk.a}
  - {name: head2, type: conv2d, out_channels: 3, kernel: 1, inputs: trunk}
outputs: [head1, head2]
""")
    assert graph.node("head1").inputs == ["trunk.a"]
    assert graph.node("head2").inputs == ["trunk.b"]
    assert graph.outputs == ["head1", "head2"]


TOP_LEVEL_REFERENCES = """
input: [2, 8, 8]
layers:
  - name: a
    layers:
      - {name: x, type: conv2d, out_channels: 2, kernel: 1}
  - name: b
    layers:
      - name: a
        layers:
          - {name: x, type: relu}
          - {name: y, type: add, inputs: [x, %s]}
"""


def test_a_reference_starting_with_a_slash_is_looked_up_at_the_top_level():
    graph = load_spec_text(TOP_LEVEL_REFERENCES % "/a.x")
    assert graph.node("b.a.y").inputs == ["b.a.x", "a.x"]
    assert load_spec_text(TOP_LEVEL_REFERENCES % "a.x").node("b.a.y").inputs == ["b.a.x", "b.a.x"]  # the nearest a
    assert load_spec_text(TOP_LEVEL_REFERENCES % "/input").node("b.a.y").inputs == ["b.a.x", "input"]


def test_a_top_level_reference_to_nothing_and_a_name_with_a_slash_are_refused():
    with pytest.raises(ArchcalcError, match=r"unknown input '?/b\.x"):
        load_spec_text(TOP_LEVEL_REFERENCES % "/b.x")
    with pytest.raises(ArchcalcError, match="bad layer name"):
        load_spec_text("input: [2]\nlayers:\n  - {name: /a, type: relu}\n")


def test_block_output_key_and_nested_blocks():
    graph = load_spec_text("""
input: [4, 8, 8]
blocks:
  inner:
    params: {c: 4}
    layers:
      - {name: conv, type: conv2d, out_channels: c, kernel: 1}
      - {name: act, type: relu}
    output: conv
  outer:
    params: {c: 4}
    layers:
      - {name: x, block: inner, args: {c: "c * 2"}}
      - {name: y, block: inner, args: {c: c}}
layers:
  - {name: o, block: outer, args: {c: 3}}
""")
    assert graph.node("o.y.conv").inputs == ["o.x.conv"]  # `output: conv` skips the relu
    assert graph.node("o.x.conv").attrs["out_channels"] == 6
    assert graph.outputs == ["o.y.conv"]


def test_json_specs_load_like_yaml(tmp_path):
    path = tmp_path / "net.json"
    path.write_text(json.dumps({"input": [10], "layers": [{"type": "linear", "out_features": 5}, "relu"]}))
    report = analyse(load_spec(path))
    assert report.name == "net" and report.totals.params == 55


def test_one_dimensional_mlp():
    report = analyse(load_spec_text("input: [784]\nlayers: [{type: linear, out: 100}, relu, {type: linear, out: 10}]"))
    assert report.totals.params == 785 * 100 + 101 * 10
    assert all(layer.receptive_field is None for layer in report.layers)


def test_per_axis_attributes_and_aliases():
    graph = load_spec_text("""
input: [3, 20, 30]
layers:
  - {type: conv2d, out: 4, kernel_size: [1, 7], padding: [0, 0, 3, 3]}
  - {type: max_pool2d, kernel: [2, 3], stride: [2, 3], ceil_mode: true}
""")
    report = analyse(graph)
    assert report.layers[0].output_shape == [4, 20, 30]
    assert report.layers[1].output_shape == [4, 10, 10]


@pytest.mark.parametrize(
    ("text", "value"),
    [("2 + 3 * 4", 14), ("7 // 2", 3), ("7 / 2", 3.5), ("2 ** 10", 1024), ("-3 % 5", 2),
     ("max(1, 5, 3)", 5), ("ceil(7 / 2)", 4), ("int(0.75 * 32)", 24), ("1 if 2 > 3 else 0", 0),
     ("[1, 2, 3][1]", 2), ("x * 2", 20), ("x > 5 and not false", True), ("make_divisible(32 * 0.35, 8)", 16)],
)  # fmt: skip
def test_expression_grammar(text, value):
    assert evaluate(text, {"x": 10}) == value


@pytest.mark.parametrize(
    "text",
    ["__import__('os')", "x.__class__", "open('f')", "lambda: 1", "[i for i in x]", "9 ** 9 ** 9",
     "'a' * 10", "x[", "y + 1", "10 ** 30"],
)  # fmt: skip
def test_expression_grammar_refuses(text):
    with pytest.raises(ArchcalcError):
        evaluate(text, {"x": [1, 2]})


def test_make_divisible_matches_torchvision():
    # torchvision's _make_divisible: MobileNetV2 at width 0.35 and 1.4
    assert [make_divisible(c * 0.35, 8) for c in (32, 16, 24, 64, 96, 160, 320)] == [16, 8, 8, 24, 32, 56, 112]
    assert make_divisible(1280 * 1.4, 8) == 1792
