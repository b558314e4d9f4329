"""Relative-position biases an MLP computes on every call (tests/models/relative_position_mlp.py: timm's RelPosMlp
and vit_relpos's attention) import complete and exact: the MLP's linears as parameters, the coordinates and
index as buffers, its cost once per call whatever the batch, fvcore and FlopCounterMode equal on the module
itself, and the exported spec loads back to the same totals and passes `check`."""

from __future__ import annotations

import pytest
import torch

from archcalc import analyse, load_spec_text
from archcalc.check import CheckOptions, check
from archcalc.conventions.peers import run_peer
from archcalc.errors import ArchcalcError
from archcalc.importer import import_model
from archcalc.layers import REGISTRY
from archcalc.spec.export import export_spec
from tests.models import relative_position_mlp as rpm

# window 3x3: T = 5·5 = 25 coordinates, N = 9 tokens; r = 2, h = 8, H = 2
CASES = {
    "fused": (lambda: rpm.RelPosAttention(fused=True), (9, 8), "relative_position_attention", [1, 1]),
    "scores_plus_bias": (lambda: rpm.RelPosAttention(fused=False), (9, 8), "relative_position_bias", [1, 1]),
    "swin_biases": (lambda: rpm.RelPosAttention(fused=True, bias=(True, False)), (9, 8),
                    "relative_position_attention", [1, 0]),
    "module_alone": (rpm.RelPosMlp, (2, 9, 9), "relative_position_bias", [1, 1]),
    "swin_v2_sigmoid": (rpm.SigmoidRelPosMlp, (2, 9, 9), "relative_position_bias", [1, 0]),
}  # fmt: skip


def _model(factory):
    torch.manual_seed(0)
    return factory().eval()


def _imported(case):
    factory, shape, *_ = CASES[case]
    return _model(factory), shape, import_model(_model(factory), shape).graph


@pytest.mark.parametrize("case", list(CASES))
def test_the_bias_mlp_imports_complete_and_counts_once_per_call(case):
    model, shape, graph = _imported(case)
    _, _, layer_type, mlp_bias = CASES[case]
    [node] = [n for n in graph.nodes if n.type.startswith("relative_position_")]
    assert node.type == layer_type
    assert node.attrs.get("mlp_gain") == (16 if case == "swin_v2_sigmoid" else None)
    assert [list(node.attrs[key]) for key in ("mlp", "mlp_bias", "table")] == [[2, 8], mlp_bias, [25, 2]]
    reports = [analyse(graph, batch=batch) for batch in (1, 3)]
    for report in reports:
        assert report.complete, [(gap.op, gap.reason) for gap in report.unsupported]
        assert report.totals.params == sum(p.numel() for p in model.parameters())
        assert report.totals.buffers == sum(b.numel() for b in model.buffers())
    # the MLP's MACs (T·h·(r + H) = 25·8·4) are paid once, whatever the batch
    rows = [next(layer for layer in r.layers if layer.name == node.name) for r in reports]
    mlp_macs = 25 * 8 * (2 + 2)
    assert rows[1].macs - mlp_macs == 3 * (rows[0].macs - mlp_macs)
    entry = REGISTRY[node.type]
    attrs = entry.resolve_attrs({key: value for key, value in node.attrs.items() if value is not None}, {})
    assert entry.per_call(attrs, [tuple(s) for s in _input_shapes(reports[0], node, shape)], tuple(rows[0].output_shape))[0] \
        == mlp_macs  # fmt: skip


def _input_shapes(report, node, model_input):
    shapes = {layer.name: layer.output_shape for layer in report.layers}
    return [shapes.get(name, model_input) for name in node.inputs]


@pytest.mark.parametrize("case", list(CASES))
def test_the_bias_mlp_conventions_equal_the_tools(case):
    model, shape, graph = _imported(case)
    for batch in (1, 2):
        for convention in ("fvcore", "torch"):
            ours = analyse(graph, batch=batch, convention=convention).convention.total
            assert ours == run_peer(convention, model, shape, batch=batch), (case, convention, batch)


@pytest.mark.parametrize("case", list(CASES))
def test_the_bias_mlp_round_trips_and_checks(case):
    _, _, graph = _imported(case)
    spec = load_spec_text(export_spec(graph))
    assert analyse(spec).totals == analyse(graph).totals and analyse(spec).complete
    outcome = check(spec, CheckOptions(batch=2, fvcore=True, rf_budget=0))
    assert outcome.agrees, [(layer.name, [str(v) for v in layer.verdicts]) for layer in outcome.differing]


def test_sigmoid_and_gain_count_once_per_call():
    """16·sigmoid over the H·N² gathered bias: 5 FLOPs an element, once per call (fvcore and torch: none)."""
    plain, squashed = (analyse(_imported(case)[2], batch=2) for case in ("module_alone", "swin_v2_sigmoid"))
    # the swin variant's second linear has no bias: 25·2 fewer FLOPs in the MLP
    assert squashed.totals.flops - plain.totals.flops == 5 * 2 * 9 * 9 - 25 * 2


def test_an_unread_squashing_of_the_mlp_bias_is_unsupported_not_zero():
    """tanh of the gathered bias is no pattern a rule reads: said, weights still counted."""
    model = _model(rpm.TanhRelPosMlp)
    report = analyse(import_model(model, (2, 9, 9)).graph)
    assert not report.complete
    assert report.totals.params == sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("attrs, message", [
    ({"mlp": [2]}, "mlp must be"),
    ({"mlp": [2, 8], "mlp_bias": [1, 2]}, "mlp must be"),
    ({"mlp": [2, 8], "axis": 1, "table": [2, 25], "index": [2], "bias": [2, 2]}, "an MLP table is"),
])  # fmt: skip
def test_bad_mlp_attributes_are_one_clear_error(attrs, message):
    entry = REGISTRY["relative_position_bias"]
    base = {"table": [25, 2], "index": [81], "axis": 0, "bias": [1, 2, 9, 9]}
    with pytest.raises(ArchcalcError, match=message):
        entry.shape(entry.resolve_attrs({**base, **attrs}, {}), [(2, 9, 9)])
