"""Importing attention and tensor algebra: nn.MultiheadAttention, F.scaled_dot_product_attention, matmul, bmm,
einsum, permute, transpose, chunk, unbind, x[:, 0], x.mean(1), F.layer_norm and nn.Embedding map to their
layer types, and the imported graph analyses exactly as the spec written by hand."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from archcalc import analyse, load_spec_text
from archcalc.conventions import count_convention
from archcalc.importer import import_model
from tests.test_import_models import Lambda
from tests.test_import_roundtrip import assert_same_analysis


class SelfAttention(nn.Module):
    """torchvision's EncoderBlock calls its attention like this."""

    def __init__(self, need_weights: bool = False) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(16, 4, batch_first=True)
        self.need_weights = need_weights

    def forward(self, x):
        return self.attn(x, x, x, need_weights=self.need_weights)[0]


class CrossAttention(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.memory = nn.Linear(16, 8)
        self.attn = nn.MultiheadAttention(16, 2, batch_first=True, kdim=8, vdim=8, bias=False)

    def forward(self, x):
        m = self.memory(x)
        return self.attn(x, m, m, need_weights=False, is_causal=False)[0]


class FunctionalNorm(nn.Module):
    """torchvision's LayerNorm2d: F.layer_norm with the module's own weight and bias."""

    def __init__(self) -> None:
        super().__init__()
        self.weight, self.bias = nn.Parameter(torch.ones(8)), nn.Parameter(torch.zeros(8))

    def forward(self, x):
        return F.layer_norm(x, (8,), self.weight, self.bias, 1e-6)


class Tokens(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.table = nn.Embedding(50, 8, padding_idx=0)

    def forward(self, ids):
        return self.table(ids).mean(1)


# (id, model, input shape, the spec layers it must equal, input dtype)
CASES = [
    ("mha-self", SelfAttention(), (6, 16), "{type: multi_head_attention, num_heads: 4}", "float32"),
    ("mha-cross", CrossAttention(), (6, 16), "{name: memory, type: linear, out_features: 8}, "
     "{type: multi_head_attention, num_heads: 2, bias: false, inputs: [input, memory]}", "float32"),
    ("sdpa-causal", Lambda(lambda x: F.scaled_dot_product_attention(x, x, x, is_causal=True)), (2, 6, 8),
     "{type: scaled_dot_product_attention, causal: true, inputs: [input, input, input]}", "float32"),
    ("matmul-transposed", Lambda(lambda x: x @ x.transpose(-2, -1)), (2, 6, 8),
     "{name: t, type: transpose, dim0: -2, dim1: -1}, {type: matmul, inputs: [input, t]}", "float32"),
    ("bmm", Lambda(lambda x: torch.bmm(x, x)), (5, 5), "{type: matmul, inputs: [input, input]}", "float32"),
    ("einsum", Lambda(lambda x: torch.einsum("bhqd,bhkd->bhqk", x, x)), (2, 6, 4),
     "{type: einsum, equation: 'hqd,hkd->hqk', inputs: [input, input]}", "float32"),
    ("permute", Lambda(lambda x: x.permute(0, 2, 1)), (6, 8), "{type: permute, dims: [1, 0]}", "float32"),
    ("chunk", Lambda(lambda x: (lambda a, b, c: a + b + c)(*x.chunk(3, dim=-1))), (4, 12),
     "{name: a, type: slice, axis: 1, end: 4}, {name: b, type: slice, axis: 1, start: 4, end: 8, inputs: input}, "
     "{name: c, type: slice, axis: 1, start: 8, inputs: input}, {type: add, inputs: [a, b]}, "
     "{type: add, inputs: ['3', c]}", "float32"),
    ("unbind", Lambda(lambda x: torch.mul(*x.unbind(1))), (2, 5),
     "{name: a, type: select, axis: 0, index: 0}, {name: b, type: select, axis: 0, index: 1, inputs: input}, "
     "{type: mul, inputs: [a, b]}", "float32"),
    ("class-token", Lambda(lambda x: x[:, 0]), (6, 8), "{type: select}", "float32"),
    ("layer-norm", FunctionalNorm(), (6, 8), "{type: layernorm, eps: 1.0e-6}", "float32"),
    ("embedding-mean", Tokens(), (7,), "{type: embedding, num_embeddings: 50, embedding_dim: 8, padding_idx: 0}, "
     "{type: mean}", "int64"),
]


@pytest.mark.parametrize("model, shape, layers, dtype", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_attention_and_tensor_algebra_import(model, shape, layers, dtype):
    imported = import_model(model, shape, input_dtype=dtype).graph
    expected = load_spec_text(f"{{input: {list(shape)}, input_dtype: {dtype}, layers: [{layers}]}}")
    assert_same_analysis(expected, imported, ignore=("line", "attributes", "name", "inputs"))
    assert analyse(imported).complete


def test_self_attention_imports_as_one_input_and_keeps_torchs_native_path():
    """nn.MultiheadAttention(x, x, x) is self-attention on one input, so the conventions see torch's fused path
    (fvcore and FlopCounterMode count none of it), as they do on the real model."""
    graph = import_model(SelfAttention(), (6, 16)).graph
    [node] = graph.nodes
    assert node.inputs == ["input"]
    report = analyse(graph)
    assert count_convention(graph, report, "fvcore").total == 0
    assert count_convention(graph, report, "torch").total == 0
    assert count_convention(graph, report, "ptflops").total > report.totals.macs  # its own hook formula


def test_attention_that_returns_its_weights_is_listed_not_counted_as_zero():
    report = analyse(import_model(SelfAttention(need_weights=True), (6, 16)).graph)
    output, weights = report.unsupported  # one unsupported layer per tensor it returns
    assert output.op == weights.op == "torch.nn.modules.activation.MultiheadAttention"
    assert "returns 2 tensors" in output.reason
    assert report.layer(output.name).params == 4 * (16 * 16 + 16)  # its weights stay counted
    assert report.layer(weights.name).output_shape == [6, 6]


def test_an_explicit_mask_is_listed():
    def masked(x):
        return F.scaled_dot_product_attention(x, x, x, attn_mask=torch.zeros(6, 6, device=x.device))

    report = analyse(import_model(Lambda(masked), (2, 6, 8)).graph)
    assert not report.complete
    assert "torch.nn.functional.scaled_dot_product_attention" in {gap.op for gap in report.unsupported}
