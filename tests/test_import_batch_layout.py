"""The importer follows the batch axis wherever custom attention code moves it (archcalc/importer/layout.py):
timm's beit / pvt_v2 attention (`permute(2, 0, 3, 1, 4)` then `unbind(0)`) and Swin's window partition
([B·nW, N, C]) import complete, with params, `--convention fvcore` and `--convention torch` equal to torch,
fvcore and FlopCounterMode, and an exported spec that loads back to the same totals and passes `check`.
Calls that mix samples stay unsupported, saying why."""

from __future__ import annotations

import pytest
import torch

from archcalc import analyse, load_spec_text
from archcalc.check import CheckOptions, check
from archcalc.conventions.peers import run_peer
from archcalc.importer import import_model
from archcalc.spec.export import export_spec
from tests.models import batch_layout as bl

CASES = {
    "beit": (lambda: bl.Tokens(bl.BeitAttention()), (16, 32)),
    "beit_fused": (lambda: bl.Tokens(bl.BeitAttention(fused=True)), (16, 32)),
    "pvt_v2": (lambda: bl.Tokens(bl.PvtV2Attention()), (64, 32)),
    "swin_windows": (bl.WindowBlock, (8, 8, 32)),
    "swin_windows_fused": (lambda: bl.WindowBlock(fused=True), (8, 8, 32)),
    "swin_shifted_windows": (lambda: bl.WindowBlock(shift=2), (8, 8, 32)),
    "hiera_unroll": (bl.Unroll, (64, 8)),
    "nest_blocks": (bl.NestAttention, (4, 16, 32)),
}


def _model(factory):
    torch.manual_seed(0)
    return factory().eval()


@pytest.mark.parametrize("case", list(CASES))
def test_moved_batch_imports_complete_and_exact(case):
    factory, shape = CASES[case]
    graph = import_model(factory, shape).graph
    report = analyse(graph)
    assert report.complete, [(gap.op, gap.reason) for gap in report.unsupported]
    model = _model(factory)
    assert report.totals.params == sum(p.numel() for p in model.parameters())
    for convention in ("fvcore", "torch"):
        assert analyse(graph, convention=convention).convention.total == run_peer(convention, model, shape)


@pytest.mark.parametrize("case", list(CASES))
def test_moved_batch_round_trips_and_check_passes(case):
    factory, shape = CASES[case]
    graph = import_model(factory, shape).graph
    loaded = load_spec_text(export_spec(graph))
    assert analyse(loaded).totals == analyse(graph).totals
    assert check(loaded, CheckOptions(fvcore=False, rf_budget=0)).agrees


def test_the_layers_are_per_sample():
    """beit's permute(2, 0, 3, 1, 4) on [B, N, 3, H, D] is, per sample, permute(1, 2, 0, 3) on [N, 3, H, D];
    unbind(0) of [3, B, H, N, D] is three selects on sample axis 0; Swin's windows are [nW, N, C] per sample."""
    report = analyse(import_model(CASES["beit"][0], (16, 32)).graph)
    permute = next(layer for layer in report.layers if layer.type == "permute")
    assert list(permute.attributes["dims"]) == [1, 2, 0, 3] and list(permute.output_shape) == [3, 4, 16, 8]
    selects = [layer for layer in report.layers if layer.type == "select"]
    assert [(s.attributes["axis"], s.attributes["index"], list(s.output_shape)) for s in selects] == [
        (0, index, [4, 16, 8]) for index in range(3)]  # fmt: skip
    windows = analyse(import_model(bl.WindowBlock, (8, 8, 32)).graph)
    qkv = windows.layer("attn.qkv")
    assert list(qkv.output_shape) == [4, 16, 96]  # 4 windows of 16 tokens


def test_sdpa_on_merged_windows_says_so():
    """[B·nW, h, N, d] windows are 4-D to torch (its CPU flash kernel, uncounted by FlopCounterMode); per sample
    they are [nW, h, N, d], so the layer records that the batch is merged (the torch convention reads it)."""
    windows = analyse(import_model(CASES["swin_windows_fused"][0], (8, 8, 32)).graph)
    nest = analyse(import_model(bl.NestAttention, (4, 16, 32)).graph)
    [merged] = [layer for layer in windows.layers if layer.type == "scaled_dot_product_attention"]
    [blocks] = [layer for layer in nest.layers if layer.type == "scaled_dot_product_attention"]
    assert merged.attributes["batch_merged"] and not blocks.attributes["batch_merged"]


@pytest.mark.parametrize("factory, shape, op, reason", [
    (bl.BatchMean, (4, 8), "torch.Tensor.mean", "no batch axis"),
    (bl.BatchInside, (4, 8), "torch.Tensor.flatten", "an inner factor"),
    (bl.BatchTranspose, (4, 8), "torch.Tensor.transpose", "swaps the batch axis"),
    (bl.WindowMean, (8, 8, 32), "torch.Tensor.mean", "would mix samples"),
], ids=["mean-over-batch", "batch-inner-factor", "transpose-of-batch", "mean-over-windows"])  # fmt: skip
def test_a_call_that_mixes_samples_stays_unsupported(factory, shape, op, reason):
    report = analyse(import_model(factory, shape).graph)
    assert not report.complete
    gap = report.unsupported[0]
    assert gap.op == op and reason in gap.reason, (gap.op, gap.reason)


def test_an_unmapped_call_on_windows_keeps_the_batch_for_the_layers_after_it():
    report = analyse(import_model(bl.WindowSoftmax, (8, 8, 32)).graph)
    [gap] = report.unsupported
    assert gap.op == "torch.nn.functional.softmax" and list(report.layer("softmax").output_shape) == [4, 16, 32]
    assert report.layer("fc").type == "linear" and list(report.layer("fc").output_shape) == [4, 16, 32]
    assert list(report.layers[-1].output_shape) == [8, 8, 32]


def test_an_attention_on_windows_maps_over_the_window_axis():
    graph = import_model(bl.WindowMHA, (8, 8, 32)).graph
    report = analyse(graph)
    assert report.complete
    assert graph.node("attn").type == "multi_head_attention" and graph.node("attn").over == 1
    assert list(report.layer("attn").output_shape) == [4, 16, 32]
    assert list(report.layers[-1].output_shape) == [8, 8, 32]


def test_a_leading_two_from_an_unmapped_call_is_not_followed_as_the_batch():
    report = analyse(import_model(bl.TableOfTwo, (2, 16, 16)).graph)
    assert [gap.op for gap in report.unsupported] == ["torch.cumsum", "torch.Tensor.unsqueeze", "operator.add"]
    assert "reshape" not in [layer.type for layer in report.layers]
