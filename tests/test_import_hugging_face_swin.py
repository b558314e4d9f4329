"""Hugging Face's Swin (issue 17's hf/swin) imported complete and exact, from a tiny SwinConfig: each window
attention is one relative_position_attention on windows folded into the batch ([B·nW, h, N, d]); in the shifted
blocks the bias carries the shifted-window `mask` (a constant made from the sizes alone, expanded to the batch's
windows: one more add per score); patch merging's `x[:, r::2, c::2, :]` are strided_slice layers with starts.
Params and buffers equal torch's, `--convention torch` / `--convention fvcore` equal FlopCounterMode (on the CPU,
as users run it) and fvcore on the model itself, and the exported spec loads back and passes `check`."""

from __future__ import annotations

import warnings

import torch

from archcalc import analyse
from archcalc.conventions import count_convention
from archcalc.importer import import_model
from tests.model_cases import assert_graph_round_trips_and_checks
from tests.models import hugging_face as hf
from tests.peer_check import tool_totals

SHAPE = (3, 32, 32)


class Tensors(torch.nn.Module):
    """fvcore's jit trace takes tensors only: the model's output dict as a tuple."""

    def __init__(self) -> None:
        super().__init__()
        self.model = hf.swin()

    def forward(self, x):
        return tuple(value for value in self.model(x).values() if isinstance(value, torch.Tensor))


def _imported():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return import_model(hf.swin, SHAPE).graph


def _real(device: str) -> torch.nn.Module:
    torch.manual_seed(0)
    with torch.device(device):
        return Tensors().eval()


def test_swin_imports_complete_with_torchs_params():
    graph = _imported()
    report = analyse(graph)
    assert report.complete, [(gap.op, gap.reason) for gap in report.unsupported]
    model = _real("cpu")
    assert report.totals.params == sum(p.numel() for p in model.parameters())
    assert report.totals.buffers == sum(b.numel() for b in model.buffers())
    attentions = [node for node in graph.nodes if node.type == "relative_position_attention"]
    # stage 1: 8 x 8 tokens, windows of 4 x 4 (4 windows), the second block shifted; stage 2: one window, no shift
    assert [node.attrs["mask"] for node in attentions] == [None, (4, 1, 16, 16), None, None]
    # the 4 windows of stage 1 fold into the batch (B·nW); stage 2's one window leaves the batch in front
    assert [bool(node.attrs["batch_merged"]) for node in attentions] == [True, True, False, False]
    slices = [node.attrs["starts"] for node in graph.nodes if node.type == "strided_slice"]
    assert sorted(slices, key=str) == sorted([None, (1, 0), (0, 1), (1, 1)], key=str)


def test_swin_conventions_equal_the_tools():
    graph = _imported()
    report = analyse(graph)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        measured = tool_totals(_real, SHAPE, ("fvcore", "torch"), cpu_tools=("fvcore", "torch"))
    assert measured == {tool: count_convention(graph, report, tool).total for tool in measured}


def test_swin_round_trip_and_check():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_graph_round_trips_and_checks(_imported(), "swin")


def test_the_shift_mask_adds_one_flop_per_score():
    """Stage 1's two attentions differ only by the mask: 4 windows x 2 heads x 16 x 16 scores, one add each."""
    layers = [layer for layer in analyse(_imported()).layers if layer.type == "relative_position_attention"]
    assert layers[1].macs == layers[0].macs and layers[1].flops - layers[0].flops == 4 * 2 * 16 * 16
