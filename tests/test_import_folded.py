"""Per-sample layers on windows, heads, patches or rows folded into torch's batch (tests/models/folded.py, timm
1.0.31's blocks): each imports complete, with the folded calls as their layer types applied over the leading axis
(`over: 1`, archcalc/layers/over.py); params and buffers equal torch's, `--convention fvcore` and `--convention
torch` equal fvcore and FlopCounterMode on the model itself, and the exported spec loads back to the same totals
and passes `check` against its own torch build."""

from __future__ import annotations

import sys
import types

import pytest
import torch

from archcalc import analyse, load_spec_text
from archcalc.conventions.peers import run_peer
from archcalc.importer import import_model
from archcalc.spec.export import export_spec
from tests.models import folded as fd
from tests.models import timm_blocks as tb


@pytest.fixture
def timm_installed(monkeypatch):
    """timm.layers.attention.Attention is the stand-in (the rule is keyed on timm's class, by name)."""
    module = types.ModuleType("timm.layers.attention")
    module.Attention = tb.Attention
    monkeypatch.setitem(sys.modules, "timm.layers.attention", module)


CASES = {  # factory, input shape, {layer type: how many calls map over a folded axis}
    # 4 windows of 7x7; the depthwise ConvNorms' BatchNorm2d(4) has as many channels as there are windows, which the
    # whole sample [4, 4, 7, 7] would read as its channels: it must still be read per window
    "efficientvit_window_attention": (fd.LocalWindowAttention, (32, 14, 14), {"conv2d": 9, "batchnorm": 9}),
    "mobilevit_block": (fd.MobileVitBlock, (16, 8, 8), {"multi_head_attention": 2}),
    "sequencer_lstm2d": (fd.LSTM2d, (6, 5, 16), {"lstm": 2}),
    "mvitv2_pooling": (fd.MultiScaleAttention, (32, 8, 8), {"conv2d": 3}),
    "sam2_window_query_pool": (fd.WindowQueryPool, (8, 8, 16), {"max_pool2d": 1}),
    "functions_on_windows": (fd.WindowFunctions, (8, 8, 8), {"conv2d": 1, "batchnorm": 1, "max_pool2d": 1}),
}


def _model(factory):
    torch.manual_seed(0)
    return factory().eval()


@pytest.mark.parametrize("case", list(CASES))
def test_folded_block_imports_complete_and_exact(case, timm_installed):
    factory, shape, folded = CASES[case]
    graph = import_model(factory, shape).graph
    report = analyse(graph)
    assert report.complete, [(gap.op, gap.reason) for gap in report.unsupported]
    over = {}
    for node in graph.nodes:
        if node.over:
            over[node.type] = over.get(node.type, 0) + 1
    assert over == folded
    model = _model(factory)
    assert report.totals.params == sum(p.numel() for p in model.parameters())
    assert report.totals.buffers == sum(b.numel() for b in model.buffers())
    for convention in ("fvcore", "torch"):
        ours = analyse(graph, convention=convention).convention.total
        assert ours == run_peer(convention, model, shape), convention


@pytest.mark.parametrize("case", list(CASES))
def test_folded_block_round_trips_and_checks(case, timm_installed):
    from archcalc.check import check

    factory, shape, _ = CASES[case]
    graph = import_model(factory, shape).graph
    text = export_spec(graph)
    assert "over: 1" in text
    again = load_spec_text(text)
    assert analyse(again).totals == analyse(graph).totals
    result = check(again)
    assert result.agrees, [(layer.name, [v for v in layer.verdicts if v.differs]) for layer in result.differing]
