"""Differential tests for token sequences: random stacks of token layers on [L, E] (attention, norms, linear,
reorders, token selection) and random embeddings of token ids, analysed by archcalc and run through torch.nn
modules built directly. Shapes and parameters must be equal, and where torch refuses a configuration (heads
that do not divide the width, a padding index outside the table) archcalc must refuse it too, with a
one-line error naming the layer. Example counts follow the hypothesis profile (`make test-long`: more).
"""

from __future__ import annotations

import json

import hypothesis.strategies as st
import torch
import torch.nn.functional as F
from hypothesis import given, note
from hypothesis.control import currently_in_test_context
from torch import nn

from archcalc import ArchcalcError, analyse, load_spec_text
from tests.reference_layers import Drawn
from tests.test_import_models import Lambda

BATCH = 2


class SelfAttention(nn.Module):
    def __init__(self, width: int, heads: int, bias: bool) -> None:
        super().__init__()
        self.mha = nn.MultiheadAttention(width, heads, bias=bias, batch_first=True)

    def forward(self, x):
        return self.mha(x, x, x, need_weights=False)[0]


@st.composite
def token_layer(draw) -> Drawn:
    """One layer on [L, E] (or [*, L, E]); `make(torch shape)` builds the reference."""
    kind = draw(st.sampled_from(["linear", "layernorm", "rmsnorm", "attention", "gelu", "transpose", "permute",
                                 "mean", "positional", "layer_scale"]))  # fmt: skip
    if kind == "linear":
        out = draw(st.integers(1, 12))
        bias = draw(st.booleans())
        return Drawn({"type": "linear", "out_features": out, "bias": bias}, lambda s: nn.Linear(s[-1], out, bias))
    if kind == "layernorm":
        return Drawn({"type": "layernorm"}, lambda s: nn.LayerNorm(s[-1]))
    if kind == "rmsnorm":
        affine = draw(st.booleans())
        return Drawn({"type": "rmsnorm", "affine": affine}, lambda s: nn.RMSNorm(s[-1], elementwise_affine=affine))
    if kind == "attention":  # heads need not divide the width: then both must refuse
        heads, bias = draw(st.integers(1, 6)), draw(st.booleans())
        return Drawn({"type": "multi_head_attention", "num_heads": heads, "bias": bias},
                     lambda s: SelfAttention(s[-1], heads, bias))  # fmt: skip
    if kind == "gelu":
        return Drawn({"type": "gelu"}, lambda s: nn.GELU())
    if kind == "transpose":
        return Drawn({"type": "transpose", "dim0": -1, "dim1": -2}, lambda s: Lambda(lambda x: x.transpose(-1, -2)))
    if kind == "permute":
        return Drawn({"type": "permute", "dims": [1, 0]}, lambda s: Lambda(lambda x: x.permute(0, 2, 1)))
    if kind == "mean":
        return Drawn({"type": "mean", "axis": 0, "keepdim": True}, lambda s: Lambda(lambda x: x.mean(1, keepdim=True)))
    if kind == "positional":
        return Drawn({"type": "positional_embedding"}, lambda s: _Table(s[-2], s[-1]))
    return Drawn({"type": "layer_scale", "channels_last": True}, lambda s: _Scale(s[-1]))


class _Table(nn.Module):
    def __init__(self, rows: int, width: int) -> None:
        super().__init__()
        self.table = nn.Parameter(torch.zeros(1, rows, width))

    def forward(self, x):
        return x + self.table


class _Scale(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(width))

    def forward(self, x):
        return self.gamma * x


def say(message: str) -> None:
    if currently_in_test_context():  # shown with a failing example
        note(message)


def run(steps: list[Drawn], x: torch.Tensor, spec: dict) -> None:
    """torch and archcalc on the same stack: equal shapes and params, or both refuse."""
    results, torch_rejects = [], None
    for index, drawn in enumerate(steps):
        try:
            module = drawn.make(tuple(x.shape)).eval()
            with torch.no_grad():
                x = module(x)
            if x.dim() < 2 or x.shape[0] != BATCH:
                raise ValueError("the batch axis is gone")
            results.append((tuple(x.shape[1:]), sum(p.numel() for p in module.parameters())))
        except Exception as exc:  # noqa: BLE001 - any torch refusal
            say(f"torch rejects layer {index}: {type(exc).__name__}: {exc}")
            torch_rejects = str(index)
            break
    spec["layers"] = [{"name": str(index), **drawn.spec} for index, drawn in enumerate(steps)]
    say(json.dumps(spec))
    try:
        report = analyse(load_spec_text(json.dumps(spec)))
    except ArchcalcError as exc:
        assert "\n" not in str(exc) and exc.path, str(exc)
        assert exc.path == torch_rejects, f"archcalc rejects {exc.path}: {exc}; torch rejects {torch_rejects}"
        return
    assert torch_rejects is None, f"torch rejects {torch_rejects}, archcalc accepts"
    seen = [(tuple(layer.output_shape), layer.params) for layer in report.layers]
    assert seen == results


def select(index: int) -> Drawn:
    """Take one token (x[:, i]): the last step, as the sample is no longer a token sequence after it."""
    return Drawn({"type": "select", "axis": 0, "index": index}, lambda s: Lambda(lambda x: x[:, index]))


@given(st.integers(1, 7), st.sampled_from([2, 4, 6, 8, 12]), st.lists(token_layer(), min_size=1, max_size=4),
       st.one_of(st.none(), st.integers(-8, 8)))  # fmt: skip
def test_random_token_stacks_agree_with_torch(length, width, steps, index):
    steps = steps + ([select(index)] if index is not None else [])
    run(steps, torch.zeros(BATCH, length, width), {"input": [length, width]})


@given(st.lists(st.integers(1, 5), min_size=1, max_size=2), st.integers(1, 30), st.integers(1, 8),
       st.one_of(st.none(), st.integers(-35, 35)), st.booleans())  # fmt: skip
def test_random_embeddings_of_token_ids_agree_with_torch(shape, rows, width, padding_idx, trainable):
    spec = {"type": "embedding", "num_embeddings": rows, "embedding_dim": width, "trainable": trainable}
    if padding_idx is not None:
        spec["padding_idx"] = padding_idx
    drawn = Drawn(spec, lambda s: nn.Embedding(rows, width, padding_idx).requires_grad_(trainable))
    ids = torch.zeros((BATCH,) + tuple(shape), dtype=torch.long)
    run([drawn], ids, {"input": shape, "input_dtype": "int64"})


def test_a_wrong_attention_count_fails_the_comparison(monkeypatch):
    """The harness can fail: a projection bias forgotten by the rule must be caught."""
    from archcalc.layers import REGISTRY
    from archcalc.layers.base import Params

    attention = REGISTRY["multi_head_attention"]
    honest = attention.params
    monkeypatch.setattr(attention, "params", lambda a, ins, out: Params(honest(a, ins, out).trainable - 1))
    drawn = Drawn({"type": "multi_head_attention", "num_heads": 2, "bias": True}, lambda s: SelfAttention(s[-1], 2, True))
    try:
        run([drawn], torch.zeros(BATCH, 3, 4), {"input": [3, 4]})
    except AssertionError:
        return
    raise AssertionError("a wrong parameter count went unnoticed")


def test_functional_attention_agrees_with_torch_on_heads():
    q = torch.zeros(BATCH, 4, 5, 8)
    out = F.scaled_dot_product_attention(q, q, q)
    spec = {"input": [4, 5, 8], "layers": [{"type": "scaled_dot_product_attention", "inputs": ["input"] * 3}]}
    assert analyse(load_spec_text(json.dumps(spec))).layers[0].output_shape == list(out.shape[1:])
