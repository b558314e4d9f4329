"""timm's building blocks import complete and exact, without timm: the stand-ins of tests/models/timm_blocks.py
(timm's own lines), with timm's Attention installed under its dotted name. Each model: complete, params and
buffers equal to torch's, `--convention fvcore` / `--convention torch` equal to fvcore and FlopCounterMode
on the model itself (at inference on the CPU, as users run them), and an export-spec round trip."""

from __future__ import annotations

import sys
import types

import pytest
import torch

from archcalc import analyse, load_spec_text
from archcalc.conventions.peers import run_peer
from archcalc.importer import import_model
from archcalc.spec.export import export_spec
from tests.models import timm_blocks as tb


@pytest.fixture
def timm_installed(monkeypatch):
    """timm.layers.attention.Attention is the stand-in (the rule is keyed on timm's class, by name)."""
    module = types.ModuleType("timm.layers.attention")
    module.Attention = tb.Attention
    monkeypatch.setitem(sys.modules, "timm.layers.attention", module)


CASES = {
    "vit": (tb.VisionTransformer, (3, 32, 32)),
    "vit_register_tokens": (lambda: tb.VisionTransformer(reg_tokens=2, qkv_bias=False), (3, 32, 32)),
    "convnext_block": (tb.ConvNeXtBlock, (8, 14, 14)),
    "conv_bn_act": (tb.ConvBnAct, (3, 16, 16)),
    "ghost_module": (tb.GhostModule, (8, 16, 16)),
    "conv_group_norm_act": (tb.ConvGroupNormAct, (3, 16, 16)),
    "upsample_crop": (tb.UpsampleCrop, (3, 17, 17)),
}
LAYERS = {
    "vit": ["conv2d", "flatten", "transpose", "class_token", "positional_embedding", "layernorm",
            "multi_head_attention", "layer_scale", "add"],
    "convnext_block": ["conv2d", "permute", "layernorm", "linear", "gelu", "dropout", "identity", "linear",
                       "dropout", "permute", "layer_scale", "add"],
    "conv_bn_act": ["conv2d", "batchnorm", "identity", "silu"],
    "ghost_module": ["conv2d", "batchnorm", "identity", "relu", "conv2d", "batchnorm", "identity", "relu",
                     "concat", "slice"],
    "conv_group_norm_act": ["conv2d", "groupnorm", "identity", "relu"],
    "upsample_crop": ["conv2d", "upsample", "crop"],
}  # fmt: skip


def _model(factory):
    torch.manual_seed(0)
    return factory().eval()


@pytest.mark.parametrize("case", list(CASES))
def test_timm_block_imports_complete_and_exact(case, timm_installed):
    factory, shape = CASES[case]
    graph = import_model(factory, shape).graph
    report = analyse(graph)
    assert report.complete, [(gap.op, gap.reason) for gap in report.unsupported]
    model = _model(factory)
    assert report.totals.params == sum(p.numel() for p in model.parameters())
    assert report.totals.buffers == sum(b.numel() for b in model.buffers())
    types_seen = [layer.type for layer in report.layers]
    assert types_seen[: len(LAYERS.get(case, []))] == LAYERS.get(case, [])
    again = analyse(load_spec_text(export_spec(graph)))
    assert again.totals == report.totals and again.complete


@pytest.mark.parametrize("case", list(CASES))
def test_timm_block_conventions_equal_the_tools(case, timm_installed):
    factory, shape = CASES[case]
    graph = import_model(factory, shape).graph
    model = _model(factory)
    for convention in ("fvcore", "torch"):
        ours = analyse(graph, convention=convention).convention.total
        assert ours == run_peer(convention, model, shape), convention


def test_timm_attention_is_multi_head_attention_with_a_fused_qkv(timm_installed):
    report = analyse(import_model(lambda: tb.VisionTransformer(heads=4), (3, 32, 32)).graph)
    attention = report.layer("blocks.0.attn")
    assert attention.type == "multi_head_attention"
    assert attention.attributes["fused_qkv"] and attention.attributes["num_heads"] == 4
    assert attention.params == sum(p.numel() for p in tb.Attention(32, 4, qkv_bias=True).parameters())


def test_timm_attention_with_qk_norm_says_why_it_is_unsupported(timm_installed):
    report = analyse(import_model(lambda: tb.VisionTransformer(qk_norm=True), (3, 32, 32)).graph)
    assert not report.complete
    reasons = {gap.reason for gap in report.unsupported}
    assert any("q_norm, k_norm" in reason for reason in reasons), reasons
    # its parameters are still counted, by the unsupported layer that holds them
    assert report.totals.params == sum(p.numel() for p in tb.VisionTransformer(qk_norm=True).parameters())


def test_without_timm_its_attention_is_traced_through():
    """Not installed under timm's name, the stand-in is the user's own class: traced through. Its permute to
    [3, B, H, N, D] takes the batch axis out of front; the importer follows it (importer/layout.py), so the
    layers are the permute, the unbind's selects and the attention product, complete."""
    report = analyse(import_model(tb.VisionTransformer, (3, 32, 32)).graph)
    types_seen = [layer.type for layer in report.layers]
    assert "multi_head_attention" not in types_seen and {"permute", "select"} <= set(types_seen)
    assert report.complete, [(gap.op, gap.reason) for gap in report.unsupported]
    assert report.totals.params == sum(p.numel() for p in _model(tb.VisionTransformer).parameters())


def test_a_parameter_slice_is_not_a_view_of_it():
    """Only calls that keep every element once (expand, reshape, ...) make a parameter's view; a slice of a
    table is something else: multiplied in, it stays unsupported (added to the tokens, it is a positional_embedding
    of the table's rows: tests/test_import_position_tables.py)."""
    from torch import nn

    class Sliced(nn.Module):
        def __init__(self):
            super().__init__()
            self.table = nn.Parameter(torch.zeros(1, 20, 8))

        def forward(self, x):
            return x * self.table[:, : x.shape[1]]

    report = analyse(import_model(Sliced, (16, 8)).graph)
    assert not report.complete
    assert report.totals.params == 160


def test_a_position_table_of_the_wrong_length_is_not_a_position_embedding():
    from torch import nn

    class Broadcast(nn.Module):
        def __init__(self):
            super().__init__()
            self.table = nn.Parameter(torch.zeros(1, 1, 8))

        def forward(self, x):
            return x + self.table

    report = analyse(import_model(Broadcast, (16, 8)).graph)
    assert [layer.type for layer in report.layers] == ["parameter_op"]  # a bias per feature, not a table
    assert report.complete and list(report.layers[0].attributes["shape"]) == [1, 8]


def test_learned_tokens_behind_the_tokens_are_not_a_class_token():
    from torch import nn

    class Behind(nn.Module):
        def __init__(self):
            super().__init__()
            self.token = nn.Parameter(torch.zeros(1, 1, 8))

        def forward(self, x):
            return torch.cat([x, self.token.expand(x.shape[0], -1, -1)], dim=1)

    report = analyse(import_model(Behind, (16, 8)).graph)
    assert [gap.op for gap in report.unsupported] == ["torch.cat"]
    assert "not all in front" in report.unsupported[0].reason
