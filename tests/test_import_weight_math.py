"""Tensors computed from a parameter before use (tests/models/weight_math.py, copied from timm 1.0.31) import
complete and exact: Swin V2's `clamp(logit_scale, max=log 100).exp()` becomes a parameter_op with
`fn: [clamp_max, exp]`, whose functions are counted once per call whatever the batch; params and buffers equal
torch's, `--convention fvcore` / `--convention torch` equal fvcore and FlopCounterMode on the model itself, and
the exported spec loads back to the same totals and passes `check`. What is left says why."""

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
from tests.models import weight_math as wm

# case: (factory, input shape, the parameter_op layers' (fn, rows, shape) in order)
CASES = {
    "logit_scale": (wm.LogitScale, (3, 5, 5), [(("clamp_max", "exp"), None, (3, 1, 1))]),
    "swin_v2_attention": (wm.SwinV2WindowAttention, (16, 16), [(("clamp_max", "exp"), None, (2, 1, 1))]),
    "swin_v2_cr_attention": (wm.SwinV2CrAttention, (9, 16), [(("clamp_max", "exp"), None, (2, 1, 1))]),
    "convit_gates": (wm.Gates, (4, 5, 5), [(("sigmoid", "rsub"), None, (4, 1, 1)), (("sigmoid",), None, (4, 1, 1))]),
    "convit_gpsa": (wm.GPSA, (16, 16), [(("sigmoid", "rsub"), None, (4, 1, 1)), (("sigmoid",), None, (4, 1, 1))]),
    "efficientvim_gates": (wm.EfficientVimGates, (8, 6, 6), [(("sigmoid",), 4, (8, 1, 1))] * 4
                           + [(("softmax",), 2, (1,))] * 2),
}  # fmt: skip


def _model(factory):
    torch.manual_seed(0)
    return factory().eval()


def _weights(model) -> tuple[int, int]:
    return sum(p.numel() for p in model.parameters()), sum(b.numel() for b in model.buffers())


def _imported(case):
    factory, shape, _ = CASES[case]
    return _model(factory), shape, import_model(_model(factory), shape).graph


@pytest.mark.parametrize("case", list(CASES))
def test_imports_complete_with_the_functions_named(case):
    model, shape, graph = _imported(case)
    report = analyse(graph)
    assert report.complete, [(gap.op, gap.reason) for gap in report.unsupported]
    assert (report.totals.params, report.totals.buffers) == _weights(model)
    found = [(n.attrs["fn"], n.attrs["rows"], tuple(n.attrs["shape"])) for n in graph.nodes if n.type == "parameter_op"]
    assert found == CASES[case][2]


@pytest.mark.parametrize("case", list(CASES))
def test_conventions_equal_the_tools(case):
    model, shape, graph = _imported(case)
    for batch in (1, 2):
        for convention in ("fvcore", "torch"):
            ours = analyse(graph, batch=batch, convention=convention).convention.total
            assert ours == run_peer(convention, model, shape, batch=batch), (case, convention, batch)


@pytest.mark.parametrize("case", list(CASES))
def test_round_trips_and_check_passes(case):
    _, _, graph = _imported(case)
    text = export_spec(graph)
    assert "fn: [" in text
    spec = load_spec_text(text)
    assert analyse(spec).totals == analyse(graph).totals and analyse(spec).complete
    outcome = check(spec, CheckOptions(batch=2, fvcore=True, rf_budget=0))
    assert outcome.agrees, [(layer.name, [str(v) for v in layer.verdicts]) for layer in outcome.differing]


def test_an_mlp_table_added_whole_is_a_bias_without_index():
    """Swin V2-CR's meta_mlp over the N² = 81 coordinates, [81, 2] transposed to [1, 2, 9, 9]: no index buffer,
    the MLP's T·h·(r + H) = 81·24·4 MACs once per call."""
    _, _, graph = _imported("swin_v2_cr_attention")
    [node] = [n for n in graph.nodes if n.type == "relative_position_bias"]
    assert (node.attrs["index"], list(node.attrs["table"]), list(node.attrs["mlp"])) == (None, [81, 2], [2, 24])
    macs = [analyse(graph, batch=batch).totals.macs for batch in (1, 3)]
    assert macs[1] - 81 * 24 * 4 == 3 * (macs[0] - 81 * 24 * 4)


def test_a_whole_table_needs_an_mlp():
    entry = REGISTRY["relative_position_bias"]
    with pytest.raises(ArchcalcError, match="without an index the table must be an MLP"):
        entry.shape(entry.resolve_attrs({"table": [81, 2], "bias": [1, 2, 9, 9]}, {}), [(2, 9, 9)])


def test_a_result_read_as_rows_is_computed_once():
    """EfficientViM: sigmoid over the 4·8 elements of alpha once (4 FLOPs each), read as 4 rows; softmax over the
    2 head weights once (3·2 − 1), read as 2 rows. ConViT calls torch.sigmoid twice: both readers count it."""
    for case, reused, once in (("efficientvim_gates", [False, True, True, True, False, True], 4 * 32 + 5),
                               ("convit_gates", [False, False], (4 + 1) * 4 + 4 * 4)):  # fmt: skip
        _, _, graph = _imported(case)
        assert [n.attrs["reused"] for n in graph.nodes if n.type == "parameter_op"] == reused
        flops = [analyse(graph, batch=batch).totals.flops for batch in (1, 3)]
        assert flops[1] - once == 3 * (flops[0] - once), case


def test_the_functions_are_counted_once_per_call():
    """clamp (1) and exp (1) on the 3 elements of logit_scale, whatever the batch; the multiply per element."""
    _, _, graph = _imported("logit_scale")
    flops = [analyse(graph, batch=batch).totals.flops for batch in (1, 4)]
    assert flops == [3 * 25 + 2 * 3, 4 * 3 * 25 + 2 * 3]


@pytest.mark.parametrize("factory, reason", [
    (wm.TanhScale, "computes on parameters alone with a function archcalc does not follow"),
    (wm.ComputedScaleIntoLinear, "computed from"),
])  # fmt: skip
def test_what_no_rule_reads_is_unsupported_and_still_holds_the_parameter(factory, reason):
    model = _model(factory)
    report = analyse(import_model(model, (3, 5, 5)).graph)
    assert not report.complete and any(reason in gap.reason for gap in report.unsupported), \
        [gap.reason for gap in report.unsupported]  # fmt: skip
    assert report.totals.params == sum(p.numel() for p in model.parameters())


def _parameter_op(**attrs):
    entry = REGISTRY["parameter_op"]
    resolved = entry.resolve_attrs({"op": "mul", "shape": [3, 1, 1], **attrs}, {})
    return entry, resolved


def test_spec_rows_and_functions_count_as_documented():
    entry, a = _parameter_op(fn=["sigmoid", "rsub"], rows=4)
    ins, out = [(3, 5, 5)], (3, 5, 5)
    assert entry.params(a, ins, out).trainable == 4 * 3
    assert entry.per_call(a, ins, out) == (0, (4 + 1) * 4 * 3)  # on the whole [4, 3, 1, 1] parameter
    assert entry.flops(a, ins, out) == 75 + 60
    entry, a = _parameter_op(fn=["softmax"], rows=4, shape=[1])
    assert entry.per_call(a, [(5,)], (5,)) == (0, 3 * 4 - 1)
    entry, a = _parameter_op(fn=["exp"], reused=True)
    assert entry.per_call(a, ins, out) == (0, 0)


@pytest.mark.parametrize("attrs, message", [
    ({"fn": ["tanh"]}, "not one of"),
    ({"fn": "exp"}, "must be a list"),
    ({"fn": [3]}, "not one of"),
    ({"rows": 0}, "must be positive"),
    ({"fn": ["exp"], "buffer": True}, "not a buffer"),
    ({"reused": True}, "reused needs"),
])  # fmt: skip
def test_bad_function_attributes_are_one_clear_error(attrs, message):
    with pytest.raises(ArchcalcError, match=message):
        entry, a = _parameter_op(**attrs)
        entry.shape(a, [(3, 5, 5)])


def test_a_buffer_the_forward_replaces_counts_as_handed_over():
    """ConViT's GPSA puts a [1, N, N, 3] table it makes from the input's shape in place of its [1, 1, 1, 3]
    placeholder buffer: the model has 3 buffer elements (torch's count before any forward), not 1 + 3·N²;
    the table is computed in the forward (no buffer of any layer) and the placeholder is unused, said so."""
    model = _model(wm.GPSA)
    handed = _weights(model)
    result = import_model(model, (16, 16))
    report = analyse(result.graph)
    assert (report.totals.params, report.totals.buffers) == handed == (1060, 3)
    assert [(u.name, u.buffers) for u in result.graph.unused] == [("rel_indices", 3)]
    assert any("the forward replaced 1 weight" in note for note in result.notes)
    assert all(layer.buffers == 0 for layer in report.layers)


def test_a_table_expanded_over_the_batch_is_a_layer_its_reader_maps_on():
    """GPSA's `pos_proj(rel_indices.expand(B, -1, -1, -1))`: a constant_table [16, 16, 3] (no cost), then the
    linear per sample: N²·3·H = 16·16·3·4 MACs a sample, as fvcore and FlopCounterMode count it."""
    _, _, graph = _imported("convit_gpsa")
    [table] = [n for n in graph.nodes if n.type == "constant_table"]
    assert list(table.attrs["shape"]) == [16, 16, 3]
    [reader] = [n for n in graph.nodes if table.name in n.inputs]
    assert reader.type == "linear"
    rows = {layer.name: layer for layer in analyse(graph, batch=2).layers}
    assert (rows[table.name].macs, rows[table.name].flops, rows[reader.name].macs) == (0, 0, 2 * 16 * 16 * 3 * 4)


@pytest.mark.parametrize(("layer", "fragments"), [
    ("{name: s, type: parameter_op, op: mul, shape: [3, 1, 1], fn: [tanh]}", ("spec.yaml:3", "layer s", "'fn'")),
    ("{name: s, type: parameter_op, op: mul, shape: [3, 1, 1], rows: -2}", ("spec.yaml:3", "layer s", "'rows'")),
    ("{name: s, type: parameter_op, op: mul, shape: [3, 1, 1], reused: true}", ("spec.yaml:3", "layer s", "reused")),
    ("{name: c, type: constant_table, shape: [4, 0]}", ("spec.yaml:3", "layer c", "'shape'")),
    ("{name: b, type: relative_position_bias, table: [25, 3], bias: [1, 3, 5, 5]}",
     ("spec.yaml:3", "layer b", "without an index")),
])  # fmt: skip
def test_bad_specs_exit_2_with_one_line(tmp_path, layer, fragments):
    from tests.hostile_support import error_line, report, write

    spec = "input: [3, 5, 5]\nlayers:\n  - " + layer + "\n"
    error_line(report(write(tmp_path, "spec.yaml", spec)), *fragments)
