"""A layer applied over leading axes (a spec's `over: k`, archcalc/layers/over.py): per-slice rules times the
slices, its weights once; archcalc's torch build (the slices folded into torch's batch) agrees with torch, fvcore
and FlopCounterMode layer by layer; the conventions equal the real tools; export-spec writes it back; a bad
`over` is a one-line error, exit 2."""

from __future__ import annotations

import hypothesis.strategies as st
import pytest
from hypothesis import given
from typer.testing import CliRunner

import archcalc.cli
from archcalc import analyse, load_spec_text
from archcalc.analysis.explain import explain_layers
from archcalc.errors import ArchcalcError
from archcalc.spec.export import export_spec
from tests.cli_errors import assert_one_line_error
from tests.reference_layers_nd import one_layer

FOLDED = """
name: folded
input: [3, 16, 7, 7]
layers:
  - {name: conv, type: conv2d, out_channels: 24, kernel: 3, padding: 1, over: 1}
  - {name: bn, type: batchnorm2d, over: 1}
  - {name: dw, type: conv2d, out_channels: 24, kernel: 3, stride: 2, groups: 24, over: 1}
  - {name: pool, type: max_pool2d, kernel: 2, ceil_mode: true, over: 1}
  - {name: relu, type: relu, over: 1, call: function}
  - {name: tokens, type: reshape, shape: [3, 24, 4]}
  - {name: seq, type: permute, dims: [0, 2, 1]}
  - {name: attn, type: multi_head_attention, embed_dim: 24, num_heads: 2, over: 1}
  - {name: lstm, type: lstm, hidden_size: 8, bidirectional: true, over: 1}
  - {name: fc, type: linear, out_features: 5, over: 1}
  - {name: fc2, type: linear, out_features: 5, inputs: lstm}
  - {name: joined, type: add, inputs: [fc, fc2], over: 1}
"""

SLICE = """
name: one_slice
input: [16, 7, 7]
layers:
  - {name: conv, type: conv2d, out_channels: 24, kernel: 3, padding: 1}
  - {name: bn, type: batchnorm2d}
  - {name: dw, type: conv2d, out_channels: 24, kernel: 3, stride: 2, groups: 24}
  - {name: pool, type: max_pool2d, kernel: 2, ceil_mode: true}
  - {name: relu, type: relu, call: function}
  - {name: tokens, type: reshape, shape: [24, 4]}
  - {name: seq, type: permute, dims: [1, 0]}
  - {name: attn, type: multi_head_attention, embed_dim: 24, num_heads: 2}
  - {name: lstm, type: lstm, hidden_size: 8, bidirectional: true}
  - {name: fc, type: linear, out_features: 5}
  - {name: fc2, type: linear, out_features: 5, inputs: lstm}
  - {name: joined, type: add, inputs: [fc, fc2]}
"""


def test_counts_are_the_slices_times_one_slice_and_weights_once():
    folded, single = analyse(load_spec_text(FOLDED)), analyse(load_spec_text(SLICE))
    for layer, one in zip(folded.layers, single.layers):
        assert layer.name == one.name
        assert list(layer.output_shape) == [3, *one.output_shape]
        assert (layer.params, layer.buffers) == (one.params, one.buffers)
        assert (layer.macs, layer.flops, layer.connections) == (3 * one.macs, 3 * one.flops, 3 * one.connections)
    assert folded.totals.params == single.totals.params and folded.totals.macs == 3 * single.totals.macs
    assert folded.layer("conv").macs == 3 * 24 * 16 * 9 * 7 * 7


def test_explain_gives_the_rules_numbers():
    graph = load_spec_text(FOLDED)
    report = analyse(graph)
    for explained in explain_layers(graph):
        layer = report.layer(explained.name)
        assert explained.value("MACs") == layer.macs and explained.value("FLOPs") == layer.flops
        assert explained.value("params") == layer.params
        assert [formula.value for formula in explained.shape] == list(layer.output_shape)


def test_torch_build_agrees_with_torch_fvcore_and_flop_counter():
    from archcalc.check import check
    from archcalc.check.results import AGREE, FLOP_COUNTER, FVCORE

    result = check(load_spec_text(FOLDED))
    assert result.agrees, [(layer.name, [v for v in layer.verdicts if v.differs]) for layer in result.differing]
    for name in ("conv", "dw", "attn", "fc"):  # compared, not skipped
        assert result.layer(name).verdict(FLOP_COUNTER).status == AGREE, name
    assert result.layer("conv").verdict(FVCORE).status == AGREE


@pytest.mark.parametrize("convention", ["fvcore", "torch", "ptflops", "thop"])
def test_conventions_equal_the_real_tools_on_the_torch_build(convention):
    import torch

    from archcalc.conventions.peers import run_peer
    from archcalc.torch_build import build_module

    graph = load_spec_text(FOLDED)
    torch.manual_seed(0)
    ours = analyse(graph, convention=convention).convention.total
    assert ours == run_peer(convention, build_module(graph, device="cpu").eval(), tuple(graph.input_shape))


def test_export_writes_over_and_loads_back_the_same():
    graph = load_spec_text(FOLDED)
    text = export_spec(graph)
    assert text.count("over: 1") == 9
    again = load_spec_text(text)
    assert [node.over for node in again.nodes] == [node.over for node in graph.nodes]
    assert analyse(again).totals == analyse(graph).totals


BAD = [
    ("over: -1", "'over' must be a whole number of leading axes from 0 to 64, got -1"),
    ("over: 65", "'over' must be a whole number"),
    ("over: true", "'over' must be a whole number"),
    ("over: two", "'over' must be a whole number"),
    ("over: 4", "over: 4 applies the layer to each slice of the first 4 axes, but the input [3, 16, 7, 7] has 4"),
]


@pytest.mark.parametrize(("value", "message"), BAD)
def test_a_bad_over_is_a_one_line_error(tmp_path, value, message):
    spec = tmp_path / "bad.yaml"
    spec.write_text(f"name: bad\ninput: [3, 16, 7, 7]\nlayers:\n  - {{name: conv, type: conv2d, out_channels: 8, "
                    f"kernel: 3, {value}}}\n")  # fmt: skip
    result = CliRunner().invoke(archcalc.cli.app, ["report", str(spec)])
    assert_one_line_error(result, message)
    assert f"{spec}:4" in result.stderr and "conv" in result.stderr


def test_inputs_with_different_leading_sizes_are_refused():
    text = ("name: bad\ninput: [4, 8]\nlayers:\n  - {name: a, type: reshape, shape: [2, 2, 8]}\n"
            "  - {name: b, type: reshape, shape: [4, 2, 4], inputs: input}\n"
            "  - {name: c, type: reshape, shape: [2, 2, 8], inputs: b}\n"
            "  - {name: d, type: reshape, shape: [4, 1, 8], inputs: input}\n"
            "  - {name: sum, type: add, inputs: [a, d], over: 1}\n")  # fmt: skip
    with pytest.raises(ArchcalcError, match=r"over: 1 needs every input to lead with the same sizes \[2\]"):
        analyse(load_spec_text(text))


BATCH = 2  # torch's batch: B·S slices


def torch_params(module) -> tuple[int, int, int]:
    trainable = sum(p.numel() for p in module.parameters() if p.requires_grad)
    fixed = sum(p.numel() for p in module.parameters() if not p.requires_grad)
    return trainable, fixed, sum(b.numel() for b in module.buffers())


def _over_spec(shape: tuple[int, ...], layer: dict, over: int) -> str:
    import json

    return f"name: drawn\ninput: {list(shape)}\nlayers:\n  - {json.dumps({'name': 'layer', **layer, 'over': over})}\n"


@given(one_layer(), st.integers(1, 3))
def test_any_layer_over_a_leading_axis_agrees_with_torch_on_the_folded_batch(drawn, slices):
    """A conv, transposed conv, pool, adaptive pool, norm, pad or upsample of any rank on [S, *sample]: torch runs it on
    the batch [B·S, *sample]; archcalc's shape and params must equal torch's, its counts S times one slice's, or
    both refuse."""
    import torch

    shape, layer = drawn
    try:
        module = layer.make((BATCH * slices, *shape)).eval()
        with torch.no_grad():
            out = module(torch.zeros((BATCH * slices, *shape)))
        expected = (slices, *out.shape[1:]), torch_params(module)
        refused = out.numel() == 0
    except Exception:  # noqa: BLE001 - any torch refusal
        refused = True
    try:
        report = analyse(load_spec_text(_over_spec((slices, *shape), layer.spec, 1)))
    except ArchcalcError:
        assert refused, f"archcalc refuses {layer} over [{slices}, {shape}], torch runs it"
        return
    assert not refused, f"torch refuses {layer} over [{slices}, {shape}], archcalc gives {report.layers[0].output_shape}"
    ours = report.layers[0]
    assert (tuple(ours.output_shape), (ours.trainable_params, ours.non_trainable_params, ours.buffers)) == expected
    single = analyse(load_spec_text(_over_spec(shape, layer.spec, 0))).layers[0]
    assert (ours.macs, ours.flops, ours.connections) == (slices * single.macs, slices * single.flops,
                                                         slices * single.connections)  # fmt: skip


def test_the_report_shows_over_beside_the_hyper_parameters(tmp_path):
    spec = tmp_path / "folded.yaml"
    spec.write_text(FOLDED)
    table = CliRunner().invoke(archcalc.cli.app, ["report", str(spec), "--format", "markdown"])
    assert table.exit_code == 0 and "over 1 k3 p1" in table.output, table.output
    shown = CliRunner().invoke(archcalc.cli.app, ["report", str(spec)])
    assert "over n: applied to each slice of n leading axes" in shown.output
    report = analyse(load_spec_text(FOLDED))
    assert report.layer("conv").attributes["over"] == 1 and "over" not in report.layer("tokens").attributes


def test_explain_says_why_the_receptive_field_ends():
    graph = load_spec_text(FOLDED)
    [conv] = [layer for layer in explain_layers(graph) if layer.name == "conv"]
    assert not conv.receptive_field and "each slice of 1 leading axis" in conv.rf_note
    assert conv.shape[0].name == "S1_out" and conv.shape[0].value == 3
