"""timm's Swin shifted-window attention mask and BEiT's partly-buffer qkv bias (tests/models/timm_swin_beit.py,
copied from timm 1.0.31) import complete and exact: the mask `attn.view(-1, nW, H, N, N) + mask...` is a
parameter_op holding a buffer, BEiT's `F.linear(x, qkv.weight, torch.cat((q_bias, k_bias, v_bias)))` a linear
whose bias is partly a buffer (`bias_buffer`); params and buffers equal torch's, `--convention fvcore` /
`--convention torch` equal fvcore and FlopCounterMode on the model itself, and the exported spec loads back to
the same totals and passes `check`. What is left says why."""

from __future__ import annotations

import pytest
import torch

from archcalc import analyse
from archcalc.errors import ArchcalcError
from archcalc.importer import import_model
from archcalc.layers import REGISTRY
from tests.import_exact import assert_complete_and_exact, assert_round_trip_and_check
from tests.import_exact import seeded as _model
from tests.models import timm_swin_beit as sb

CASES = {
    "swin_shifted": (sb.SwinBlock, (8, 8, 32)),
    "swin_shifted_uneven": (lambda: sb.SwinBlock(dim=24, resolution=12, window_size=4, shift=1, num_heads=3),
                            (12, 12, 24)),
    "swin_unshifted": (lambda: sb.SwinBlock(shift=0), (8, 8, 32)),
    "beit": (sb.BeitAttention, (10, 32)),
    "beit_fused": (lambda: sb.BeitAttention(fused=True), (10, 32)),
}  # fmt: skip


def _weights(model) -> tuple[int, int]:
    return sum(p.numel() for p in model.parameters()), sum(b.numel() for b in model.buffers())


@pytest.mark.parametrize("case", list(CASES))
def test_imports_complete_and_equal_to_torch_and_the_tools(case):
    assert_complete_and_exact(*CASES[case])


@pytest.mark.parametrize("case", list(CASES))
def test_round_trips_and_check_passes(case):
    assert_round_trip_and_check(*CASES[case])


def test_the_mask_is_a_buffer_operand_per_window():
    """8x8 tokens in 4x4 windows: 4 windows of 16 tokens, the mask [nW, N, N] added to [nW, H, N, N] scores."""
    report = analyse(import_model(_model(sb.SwinBlock), (8, 8, 32)).graph)
    [mask] = [layer for layer in report.layers if layer.type == "parameter_op"]
    assert mask.attributes["op"] == "add" and mask.attributes["buffer"]
    assert list(mask.attributes["shape"]) == [4, 1, 16, 16] and list(mask.output_shape) == [4, 2, 16, 16]
    assert (mask.params, mask.buffers, mask.flops) == (0, 4 * 16 * 16, 4 * 2 * 16 * 16)
    unshifted = analyse(import_model(_model(lambda: sb.SwinBlock(shift=0)), (8, 8, 32)).graph)
    assert "parameter_op" not in [layer.type for layer in unshifted.layers]


def test_beit_qkv_is_a_linear_whose_key_bias_is_a_buffer():
    report = analyse(import_model(_model(sb.BeitAttention), (10, 32)).graph)
    [qkv] = [layer for layer in report.layers if layer.type == "linear" and layer.attributes["out_features"] == 96]
    assert qkv.attributes["bias"] and qkv.attributes["bias_buffer"] == 32
    assert (qkv.params, qkv.buffers) == (32 * 96 + 64, 32)
    assert qkv.flops == 10 * 96 * (2 * 32)  # the bias add is made for every output, the zero key bias too


def test_the_forward_hooks_trace_joins_the_bias_too(monkeypatch):
    import archcalc.importer.trace as trace

    def untraceable(*args, **kwargs):
        raise RuntimeError("torch.fx refuses this model")

    monkeypatch.setattr(trace, "trace_fx", untraceable)
    result = import_model(_model(sb.BeitAttention), (10, 32))
    assert result.method == "forward hooks"
    report = analyse(result.graph)
    assert report.complete, [(gap.op, gap.reason) for gap in report.unsupported]
    assert (report.totals.params, report.totals.buffers) == _weights(_model(sb.BeitAttention))


@pytest.mark.parametrize("factory, shape, reason", [
    (lambda: sb.BeitAttention(separate=True), (10, 32), "partly a parameter and partly a buffer"),
    (lambda: sb.SwinBlock(fused=True), (8, 8, 32), "gathered from a parameter table"),
], ids=["beit-qkv-bias-separate", "swin-fused-mask"])  # fmt: skip
def test_what_is_left_says_why_and_keeps_the_weights(factory, shape, reason):
    """BEiT's qkv_bias_separate (`qkv += torch.cat(...)`) and Swin's fused path (the mask expanded over the batch
    and added to the relative bias for sdpa) are not modelled: unsupported, the weights still counted."""
    report = analyse(import_model(_model(factory), shape).graph)
    assert not report.complete
    assert any(reason in gap.reason for gap in report.unsupported), [gap.reason for gap in report.unsupported]
    assert (report.totals.params, report.totals.buffers) == _weights(_model(factory))


def test_a_join_that_is_not_of_whole_1d_weights_is_not_followed():
    """Only 1-D weights joined along axis 0 are a bias; a 2-D join stays what it was."""
    from torch import nn

    class Joined2D(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Parameter(torch.zeros(2, 8)), nn.Parameter(torch.zeros(2, 8))

        def forward(self, x):
            return x @ torch.cat((self.a, self.b)).T

    report = analyse(import_model(Joined2D, (8,)).graph)
    assert not report.complete and report.totals.params == 32


def test_a_linear_whose_weight_is_a_buffer_says_so():
    """A fixed weight (timm's csatv2 calls F.linear with a buffer) is not a linear layer's trained weight."""
    from torch import nn

    class FixedWeight(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("weight", torch.ones(4, 8))

        def forward(self, x):
            return torch.nn.functional.linear(x, self.weight)

    report = analyse(import_model(FixedWeight, (8,)).graph)
    [gap] = report.unsupported
    assert "the weight is a buffer" in gap.reason and report.totals.buffers == 32


@pytest.mark.parametrize("type_, attrs, shape", [
    ("linear", {"out_features": 6, "bias_buffer": 2}, (4,)),
    ("parameter_op", {"op": "add", "shape": [3, 1], "buffer": True}, (3, 5)),
])  # fmt: skip
def test_the_builders_import_back_as_themselves(type_, attrs, shape):
    entry = REGISTRY[type_]
    resolved = entry.resolve_attrs(attrs, {})
    out = entry.shape(resolved, [shape])
    module = entry.build_torch(resolved, [shape], out)
    graph = import_model(module, shape).graph
    [node] = graph.nodes
    assert node.type == type_
    assert {key: list(node.attrs[key]) if isinstance(value, list) else node.attrs[key] for key, value in attrs.items()} \
        == attrs  # fmt: skip
    report = analyse(graph)
    expected = entry.params(resolved, [shape], out)
    assert (report.totals.params, report.totals.buffers) == (expected.total, expected.buffers) == _weights(module)


@pytest.mark.parametrize("attrs, message", [
    ({"out_features": 6, "bias_buffer": 7}, "bias_buffer is 7 but the bias has 6 elements"),
    ({"out_features": 6, "bias": False, "bias_buffer": 1}, "bias_buffer is 1 but the bias has 0 elements"),
])  # fmt: skip
def test_a_bias_buffer_larger_than_the_bias_is_one_clear_error(attrs, message):
    entry = REGISTRY["linear"]
    with pytest.raises(ArchcalcError, match=message):
        entry.shape(entry.resolve_attrs(attrs, {}), [(4,)])
