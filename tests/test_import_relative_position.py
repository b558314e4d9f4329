"""Biases gathered from a parameter table by an index buffer (tests/models/relative_position.py: timm's LeViT
attention and RelPosBias, torchvision's MaxViT bias) import complete and exact: the table counted once as
parameters, the index as a buffer (never a parameter), the add as relative_position_bias (one add per element,
the gather per call, not per sample), the conventions equal to fvcore and FlopCounterMode on the model itself,
and the exported spec loads back to the same totals and passes `check`."""

from __future__ import annotations

import pytest
import torch

from archcalc import analyse, load_spec_text
from archcalc.check import CheckOptions, check
from archcalc.conventions.peers import run_peer
from archcalc.importer import import_model
from archcalc.layers import REGISTRY
from archcalc.spec.export import export_spec
from tests.models import relative_position as rp

CASES = {
    "levit": (rp.LevitAttention, (16, 32), {"table": (2, 16), "index": (16, 16), "axis": 1, "bias": (2, 16, 16)}),
    "relpos_bias": (rp.RelPosAttention, (16, 4, 4), {"table": (49, 2), "index": (256,), "axis": 0,
                                                      "bias": (1, 2, 16, 16)}),
    "beit_class_token": (lambda: rp.RelPosBias((3, 3), 2, prefix_tokens=1), (2, 10, 10),
                         {"table": (28, 2), "index": (100,), "axis": 0, "bias": (1, 2, 10, 10)}),
    "coatnet_fused": (lambda: rp.RelPosAttention(fused=True), (16, 4, 4), {"table": (49, 2), "index": (256,),
                                                                         "axis": 0, "bias": (1, 2, 16, 16)}),
    "efficientvit_cascaded_heads": (rp.CascadedGroupAttention, (16, 3, 3), {"table": (2, 9), "index": (9, 9), "axis": 1,
                                                                            "bias": (9, 9), "head": 0}),
    "maxvit_grouped": (rp.GroupedRelPosBias, (4, 2, 9, 9), {"table": (25, 2), "index": (9, 9), "axis": 0,
                                                             "bias": (1, 2, 9, 9)}),
}  # fmt: skip


def _model(factory):
    torch.manual_seed(0)
    return factory().eval()


def _imported(case):
    factory, shape, _ = CASES[case]
    return _model(factory), shape, import_model(_model(factory), shape).graph


@pytest.mark.parametrize("case", list(CASES))
def test_gathered_bias_imports_complete_with_the_index_as_a_buffer(case):
    model, shape, graph = _imported(case)
    report = analyse(graph, batch=3)
    assert report.complete, [(gap.op, gap.reason) for gap in report.unsupported]
    assert report.totals.params == sum(p.numel() for p in model.parameters())
    assert report.totals.buffers == sum(b.numel() for b in model.buffers())
    node, *others = [n for n in graph.nodes if n.type.startswith("relative_position_")]
    assert {key: tuple(node.attrs[key]) if key not in ("axis", "head") else node.attrs[key]
            for key in CASES[case][2]} == CASES[case][2]  # fmt: skip
    # EfficientViT adds head h's bias in its h-th cascaded head: the first add holds the table, the others share it
    assert [n.attrs["head"] for n in others] == list(range(1, len(others) + 1))
    assert all(n.weights.shared == _numel(node.attrs["table"]) for n in others)
    row = next(layer for layer in report.layers if layer.name == node.name)
    if node.type == "relative_position_bias":  # 3 samples: the gather is not counted, the add once per element
        assert row.flops == 3 * _numel(row.output_shape) and row.macs == 0
    else:  # the fused attention: scaled_dot_product_attention's FLOPs and one add per score
        shapes = {layer.name: tuple(layer.output_shape) for layer in report.layers}
        ins = [shapes[name] for name in node.inputs]
        plain = REGISTRY["scaled_dot_product_attention"]
        flops = plain.flops(plain.resolve_attrs({}, {}), ins, tuple(row.output_shape))
        assert row.flops == 3 * (flops + _numel(ins[0][:-1]) * ins[1][-2])
    assert (row.params, row.buffers) == (_numel(node.attrs["table"]), _numel(node.attrs["index"]))


def _numel(shape) -> int:
    out = 1
    for size in shape:
        out *= size
    return out


@pytest.mark.parametrize("case", list(CASES))
def test_gathered_bias_conventions_equal_the_tools(case):
    model, shape, graph = _imported(case)
    for batch in (1, 2):
        for convention in ("fvcore", "torch"):
            ours = analyse(graph, batch=batch, convention=convention).convention.total
            assert ours == run_peer(convention, model, shape, batch=batch), (convention, batch)


@pytest.mark.parametrize("case", list(CASES))
def test_gathered_bias_round_trips_and_checks(case):
    _, _, graph = _imported(case)
    spec = load_spec_text(export_spec(graph))
    assert analyse(spec).totals == analyse(graph).totals and analyse(spec).complete
    outcome = check(spec, CheckOptions(batch=2, fvcore=True, rf_budget=0))
    assert outcome.agrees, [(layer.name, [str(v) for v in layer.verdicts]) for layer in outcome.differing]


def test_the_builder_imports_back_as_itself():
    entry = REGISTRY["relative_position_bias"]
    attrs = entry.resolve_attrs({"table": [7, 3], "index": [4, 4], "axis": 0, "bias": [1, 3, 4, 4]}, {})
    module = entry.build_torch(attrs, [(3, 4, 4)], (3, 4, 4))
    graph = import_model(module, (3, 4, 4)).graph
    assert [n.type for n in graph.nodes] == ["relative_position_bias"]
    report = analyse(graph)
    assert (report.totals.params, report.totals.buffers, report.totals.flops) == (21, 16, 48)


def test_a_gathered_bias_read_by_an_unmapped_call_is_unsupported_and_keeps_its_weights():
    """A gathered table multiplied in (no layer type reads one that way): said, and its weights still counted."""
    model = _model(rp.ScaledByTable)
    report = analyse(import_model(model, (2, 4, 4)).graph)
    [gap] = report.unsupported
    assert "gathered from a parameter table" in gap.reason
    assert report.totals.params == sum(p.numel() for p in model.parameters())
    assert report.totals.buffers == sum(b.numel() for b in model.buffers())


@pytest.mark.parametrize("attrs, message", [
    ({"table": [7, 3], "index": [4, 4], "axis": 2, "bias": [3, 4, 4]}, "axis 2 is outside the table"),
    ({"table": [7, 3], "index": [4, 4], "axis": 0, "bias": [3, 4, 5]}, "gives 48 elements, the bias [3, 4, 5] has 60"),
    ({"table": [7, 3], "index": [4, 4], "axis": 0, "bias": [2, 3, 4, 2]}, "spans the batch axis"),
    ({"table": [7, 3], "index": [4, 4], "axis": 0, "bias": [4, 4], "head": 3}, "head 3 needs a two-axis table"),
])  # fmt: skip
def test_bad_attributes_are_one_clear_error(attrs, message):
    from archcalc.errors import ArchcalcError

    entry = REGISTRY["relative_position_bias"]
    with pytest.raises(ArchcalcError, match=message.replace("[", r"\[").replace("]", r"\]")):
        entry.shape(entry.resolve_attrs(attrs, {}), [(3, 4, 4)])


@pytest.mark.parametrize("case", ["levit", "relpos_bias", "efficientvit_cascaded_heads", "coatnet_fused"])
def test_the_forward_hooks_trace_follows_the_bias_too(case, monkeypatch):
    """Models torch.fx cannot trace (EfficientViT's) are traced by a TorchFunctionMode: the same layers."""
    import archcalc.importer.trace as trace

    def untraceable(*args, **kwargs):
        raise RuntimeError("torch.fx refuses this model")

    factory, shape, _ = CASES[case]
    expected = [n.type for n in import_model(_model(factory), shape).graph.nodes]
    monkeypatch.setattr(trace, "trace_fx", untraceable)
    result = import_model(_model(factory), shape)
    assert result.method == "forward hooks"
    report = analyse(result.graph)
    assert report.complete, [(gap.op, gap.reason) for gap in report.unsupported]
    model = _model(factory)
    assert (report.totals.params, report.totals.buffers) == (sum(p.numel() for p in model.parameters()),
                                                             sum(b.numel() for b in model.buffers()))  # fmt: skip
    assert [t for t in (n.type for n in result.graph.nodes) if t.startswith("relative_position_")] == \
        [t for t in expected if t.startswith("relative_position_")]  # fmt: skip
