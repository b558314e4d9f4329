"""Decomposed relative-position attention (tests/models/timm_relpos2d.py, copied from timm 1.0.31's SAM ViT and
MViTv2) imports complete and exact: the rows `rel_pos_h[dist.long()]` a computed index gathers are followed as a
value computed from weights, each `einsum` of the queries with them is a relative_position_product holding the
table, and SAM's summed bias reaches F.scaled_dot_product_attention as its attn_mask (a fourth input). Params equal
torch's, `--convention fvcore` / `--convention torch` equal fvcore and FlopCounterMode on the model itself, and the
exported spec loads back to the same totals and passes `check`. What is left says why."""

from __future__ import annotations

import pytest
import torch
from typer.testing import CliRunner

from archcalc import analyse, load_spec_text
from archcalc.cli import app
from archcalc.conventions.peers import run_peer
from archcalc.importer import import_model
from tests.cli_errors import assert_one_line_error
from tests.import_exact import assert_complete_and_exact, assert_round_trip_and_check
from tests.import_exact import seeded as _model
from tests.models import timm_relpos2d as rp

CASES = {
    "sam_fused": (rp.SamAttention, (5, 5, 24)),
    "sam_explicit_scores": (lambda: rp.SamAttention(fused=False), (5, 5, 24)),
    "sam_block_windows": (rp.SamBlock, (6, 6, 24)),  # 4 windows of 3x3: the batch merged with windows and heads
    "mvit": (rp.MvitAttention, (25, 24)),
    "mvit_class_token": (lambda: rp.MvitAttention(has_cls_token=True), (26, 24)),  # attn[:, :, 1:, 1:] = ...
    "mvit_smaller_key_grid": (lambda: rp.MvitAttention(feat_size=(6, 6), kv_stride=2), (36, 24)),
    "write_into_merged_batch": (rp.MergedWrite, (10, 8)),
    "sam_table_resized_down": (lambda: rp.SamAttention(table_rows=13), (5, 5, 24)),
    "sam_table_resized_up": (lambda: rp.SamAttention(table_rows=7, fused=False), (5, 5, 24)),
}  # fmt: skip


@pytest.mark.parametrize("case", list(CASES))
def test_imports_complete_and_equal_to_torch_and_the_tools(case):
    report = assert_complete_and_exact(*CASES[case])
    assert report.totals.buffers == 0  # the indices are computed: no buffer


@pytest.mark.parametrize("case", list(CASES))
def test_round_trips_and_check_passes(case):
    assert_round_trip_and_check(*CASES[case])


def test_an_index_torch_fx_folds_into_a_constant_is_computed_too():
    model = _model(rp.FixedSizeRelH)
    result = import_model(model, (3, 5, 5, 8))
    report = analyse(result.graph)
    assert result.method == "torch.fx" and report.complete, [(gap.op, gap.reason) for gap in report.unsupported]
    assert report.totals.params == sum(p.numel() for p in model.parameters())
    for convention in ("fvcore", "torch"):
        ours = analyse(result.graph, convention=convention).convention.total
        assert ours == run_peer(convention, model, (3, 5, 5, 8)), convention


def test_sam_products_hold_the_tables_and_the_bias_is_the_attention_mask():
    """5x5 tokens, 3 heads of 8: each product is [3, 5, 5, 5] per sample (the batch merged with the heads),
    3·5·5·5·8 MACs, holding its [9, 8] table; the attention adds the bias once per score."""
    report = analyse(import_model(_model(rp.SamAttention), (5, 5, 24)).graph)
    products = [layer for layer in report.layers if layer.type == "relative_position_product"]
    assert [p.attributes["equation"] for p in products] == ["bhwc,hkc->bhwk", "bhwc,wkc->bhwk"]
    assert all(list(p.output_shape) == [3, 5, 5, 5] and (p.params, p.buffers) == (72, 0) for p in products)
    assert all(p.macs == 3 * 5 * 5 * 5 * 8 for p in products)
    [attention] = [layer for layer in report.layers if layer.type == "scaled_dot_product_attention"]
    assert len(attention.inputs) == 4


def test_the_mask_adds_one_flop_per_score():
    spec = ('{"input": [3, 6, 6], "layers": [{"type": "scaled_dot_product_attention", "inputs": '
            '["input", "input", "input"%s]}]}')  # fmt: skip
    plain, masked = (analyse(load_spec_text(spec % extra)).totals.flops for extra in ("", ', "input"'))
    assert masked - plain == 3 * 6 * 6


def test_a_resized_table_is_held_with_its_own_rows():
    """A 7-row table resized to the 9 rows a 5x5 grid needs (F.interpolate in get_rel_pos): the product gathers
    from [9, 8] and holds the [7, 8] parameter."""
    report = analyse(import_model(_model(lambda: rp.SamAttention(table_rows=7)), (5, 5, 24)).graph)
    products = [layer for layer in report.layers if layer.type == "relative_position_product"]
    assert [(list(p.attributes["table"]), p.attributes.get("table_rows"), p.params) for p in products] == [
        ([9, 8], 7, 56), ([9, 8], None, 72)]


def test_a_table_resized_otherwise_is_left_unsupported_and_keeps_the_weights():
    """Only linear interpolation of the [1, C, rows] view is followed: nearest-neighbour resizing is not."""
    model = _model(lambda: rp.SamAttention(table_rows=7, resize_mode="nearest"))
    report = analyse(import_model(model, (5, 5, 24)).graph)
    assert not report.complete
    assert report.totals.params == sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("layer, message", [
    ('{"type": "relative_position_product", "equation": "nhwc,hkc->nhwk", "table": [9, 8], "index": [4, 5]}',
     "relative_position_product: axis 'h' is 5"),
    ('{"type": "relative_position_product", "equation": "nhwc,hkc->nhwk", "table": [9, 8], "index": [5, 5, 5]}',
     "names 3 axes"),
    ('{"type": "relative_position_product", "equation": "nhwc,hkc->nhwk", "table": [], "index": [5, 5]}',
     "table"),
    ('{"type": "scaled_dot_product_attention", "inputs": ["input", "input", "input", "wide"]}', "attn_mask"),
    ('{"type": "scaled_dot_product_attention", "causal": true, "inputs": ["input", "input", "input", "input"]}',
     "not both"),
    ('{"type": "relative_position_product", "equation": "nhwcd,hkcd->nhwk", "table": [9, 8, 1], "index": [5, 5], '
     '"table_rows": 7}', "resizes a [rows, C] table"),
    ('{"type": "slice_scatter", "starts": [0, 1, 1, 0], "inputs": ["input", "input"]}', "does not fit"),
    ('{"type": "slice_scatter", "starts": [0, 1], "inputs": ["input", "input"]}', "2 starts"),
    ('{"type": "slice_scatter", "starts": [0, -1, 0, 0], "inputs": ["input", "input"]}', "starts"),
], ids=["rows-mismatch", "index-rank", "empty-table", "mask-shape", "mask-and-causal", "resized-3d-table",
        "block-outside", "starts-rank", "negative-start"])  # fmt: skip
def test_bad_specs_get_a_one_line_error(tmp_path, layer, message):
    spec = tmp_path / "bad.json"
    wide = '{"name": "wide", "type": "concat", "axis": -1, "inputs": ["input", "input"]}'
    spec.write_text(f'{{"input": [3, 5, 5, 8], "layers": [{wide}, {layer[:-1]}, "inputs": ["input"]}}]}}'
                    if "inputs" not in layer else f'{{"input": [3, 5, 5, 8], "layers": [{wide}, {layer}]}}')
    result = CliRunner().invoke(app, ["report", str(spec)])
    assert_one_line_error(result, message)


def test_mvit_writes_the_grid_scores_back_with_a_slice_scatter():
    """With a class token the 5x5 grid's scores [3, 25, 25] go back into [3, 26, 26] at (0, 1, 1); the products
    gather rows of [9, 8] tables by a [5, 5] index; a key grid of 3x3 (stride 2 on 6x6) makes them [6, 3] of
    [11, 8] tables."""
    report = analyse(import_model(_model(lambda: rp.MvitAttention(has_cls_token=True)), (26, 24)).graph)
    [write] = [layer for layer in report.layers if layer.type == "slice_scatter"]
    assert list(write.attributes["starts"]) == [0, 1, 1] and list(write.output_shape) == [3, 26, 26]
    assert write.flops == 0
    merged = analyse(import_model(_model(rp.MergedWrite), (10, 8)).graph)  # [B·2, 10, 10]: per sample [2, 10, 10]
    [write] = [layer for layer in merged.layers if layer.type == "slice_scatter"]
    assert list(write.attributes["starts"]) == [0, 1, 1] and list(write.output_shape) == [2, 10, 10]
    strided = analyse(import_model(_model(lambda: rp.MvitAttention(feat_size=(6, 6), kv_stride=2)), (36, 24)).graph)
    products = [layer for layer in strided.layers if layer.type == "relative_position_product"]
    assert [(list(p.attributes["table"]), list(p.attributes["index"])) for p in products] == [([11, 8], [6, 3])] * 2
    assert [p.attributes["equation"] for p in products] == ["yhwc,hkc->yhwk", "yhwc,wkc->yhwk"]
    assert all(p.macs == 3 * 6 * 6 * 3 * 8 for p in products)


def test_a_resized_table_read_otherwise_is_unsupported_and_held():
    """A resized table added to tokens (no gather) is not followed: the add is unsupported, saying so, and holds
    the parameter (no note calls it unused)."""
    import torch.nn.functional as F
    from torch import nn

    class ResizedAdd(nn.Module):
        def __init__(self):
            super().__init__()
            self.table = nn.Parameter(torch.zeros(7, 8))

        def forward(self, x):
            table = F.interpolate(self.table.reshape(1, 7, -1).permute(0, 2, 1), size=9, mode="linear")
            return x + table.reshape(-1, 9).permute(1, 0)

    report = analyse(import_model(ResizedAdd().eval(), (9, 8)).graph)
    assert not report.complete and report.totals.params == 56 and not report.unused
    assert any("resized in forward" in gap.reason for gap in report.unsupported)
