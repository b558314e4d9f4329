"""timm's rotary-embedding attention imports as one multi_head_attention (archcalc/layers/timm_attention.py),
complete and exact, without timm: the stand-ins of tests/models/timm_rope.py (timm's own lines) installed
under timm's dotted names. Each model: complete; params and buffers equal to torch's; MACs equal to torch's
matrix products (FlopCounterMode on SDPA's math path, where QKᵀ and A·V show); `--convention fvcore` and
`--convention torch` equal to fvcore and FlopCounterMode on the model itself (the CPU's SDPA kernel); the
RoPE FLOPs as counted by hand; an export-spec round trip that `check` passes."""

from __future__ import annotations

import sys
import types

import pytest
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from archcalc import analyse, load_spec_text
from archcalc.conventions.peers import run_peer
from archcalc.importer import import_model
from archcalc.spec.export import export_spec
from tests.models import timm_rope as tr


@pytest.fixture
def timm_installed(monkeypatch):
    """The rules are keyed on timm's classes by dotted name: the stand-ins take those names."""
    layers = types.ModuleType("timm.layers.attention")
    layers.AttentionRope = tr.AttentionRope
    eva = types.ModuleType("timm.models.eva")
    eva.EvaAttention = tr.EvaAttention
    monkeypatch.setitem(sys.modules, "timm.layers.attention", layers)
    monkeypatch.setitem(sys.modules, "timm.models.eva", eva)


SHAPE = (3, 32, 32)  # a 4x4 grid of patches: 16 rotated tokens
CASES = {
    # DeepSeek / Qwen3 ViT: AttentionRope, fused biased qkv, halves layout, no class token
    "rope_fused": dict(attention="rope", cls_token=False, rotate_half=True),
    # AttentionRope with separate projections and GQA (2 key/value heads for 4 query heads)
    "rope_gqa": dict(attention="rope", qkv_fused=False, num_kv_heads=2),
    # EVA-02: separate projections, no key bias, a class token, the table cached as a buffer
    "eva_separate": dict(attention="eva", qkv_fused=False, cached=True),
    # DINOv3 (qkvb): fused qkv with q_bias, a zero k_bias buffer, v_bias; class and 4 register tokens
    "eva_fused": dict(attention="eva", reg_tokens=4, rotate_half=True),
    "eva_no_bias": dict(attention="eva", qkv_bias=False),
}
EXPECTED = {"rope_fused": {"fused_qkv": True, "bias": True, "rope_prefix_tokens": 0},
            "rope_gqa": {"kv_heads": 2, "bias": True, "rope_prefix_tokens": 1},
            "eva_separate": {"k_bias": "none", "bias": True, "rope_prefix_tokens": 1},
            "eva_fused": {"k_bias": "zeros", "fused_qkv": True, "rope_prefix_tokens": 5},
            "eva_no_bias": {"bias": False, "fused_qkv": True}}  # fmt: skip


def _factory(case):
    return lambda: tr.RopeViT(**CASES[case])


def _model(case):
    torch.manual_seed(0)
    return _factory(case)().eval()


def _graph(case):
    return import_model(_factory(case), SHAPE).graph


@pytest.mark.parametrize("case", list(CASES))
def test_timm_rope_attention_imports_complete_and_exact(case, timm_installed):
    report = analyse(_graph(case))
    assert report.complete, [(gap.op, gap.reason) for gap in report.unsupported]
    model = _model(case)
    assert report.totals.params == sum(p.numel() for p in model.parameters())
    assert report.totals.buffers == sum(b.numel() for b in model.buffers())
    attention = report.layer("blocks.0.attn")
    assert attention.type == "multi_head_attention"
    for key, value in EXPECTED[case].items():
        assert attention.attributes[key] == value, key
    assert attention.attributes["rope"]
    assert attention.params == sum(p.numel() for p in model.blocks[0].attn.parameters())
    batch = 2
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.zeros(batch, *SHAPE))
    assert 2 * report.totals.macs * batch == counter.get_total_flops()


@pytest.mark.parametrize("case", list(CASES))
def test_timm_rope_attention_conventions_equal_the_tools(case, timm_installed):
    graph = _graph(case)
    model = _model(case)
    for convention in ("fvcore", "torch"):
        assert analyse(graph, convention=convention).convention.total == run_peer(convention, model, SHAPE), convention


@pytest.mark.parametrize("case", list(CASES))
def test_timm_rope_attention_round_trip_and_check(case, timm_installed):
    from archcalc.check import check

    graph = _graph(case)
    again = load_spec_text(export_spec(graph))
    report, loaded = analyse(graph), analyse(again)
    assert loaded.totals == report.totals and loaded.complete
    assert all(v.status != "differ" for v in check(again).totals)


def _terms(case: str) -> dict[str, int]:
    from archcalc.analysis.explain import explain_layer

    return {f.name: f.value for f in explain_layer(_graph(case), "blocks.0.attn").counts}


def test_rope_flops_leave_the_prefix_tokens_out(timm_installed):
    """3 FLOPs (x·cos + rot(x)·sin) per rotated element: the 16 patch tokens of q and k, not the 5 in front."""
    heads, head_dim, patches = 4, 8, 16
    assert _terms("eva_fused")["FLOPs[rope]"] == 3 * head_dim * (heads * patches + heads * patches)


def test_eva_zero_key_bias_is_a_buffer_and_its_adds_count(timm_installed):
    """DINOv3's fused qkv adds a zero key bias (a buffer of H·D) to every key, as torch computes it; EVA-02's
    separate key projection has no bias at all."""
    assert analyse(_graph("eva_fused")).layer("blocks.0.attn").buffers == 32
    fused_tokens, separate_tokens, features = 21, 17, 32  # 16 patches, a class token (and 4 registers)
    assert _terms("eva_fused")["FLOPs[k_proj]"] == fused_tokens * features * (2 * features - 1 + 1)
    assert _terms("eva_separate")["FLOPs[k_proj]"] == separate_tokens * features * (2 * features - 1)
    assert _terms("eva_separate")["FLOPs[q_proj]"] == separate_tokens * features * (2 * features - 1 + 1)


@pytest.mark.parametrize(("options", "reason"), [(dict(qk_norm=True), "q_norm, k_norm"),
                                                 (dict(attention="eva", qk_norm=True), "q_norm, k_norm")])
def test_what_the_rule_does_not_count_is_unsupported_saying_why(options, reason, timm_installed):
    options = dict(attention="rope") | options
    report = analyse(import_model(lambda: tr.RopeViT(**options), SHAPE).graph)
    assert not report.complete
    assert any(reason in gap.reason for gap in report.unsupported), [gap.reason for gap in report.unsupported]
    assert report.totals.params == sum(p.numel() for p in tr.RopeViT(**options).parameters())


def test_a_rope_table_of_another_shape_is_refused(timm_installed):
    """A table of another shape (one per head, as timm's RotaryEmbeddingMixed) is not the [N − p, 2·D] the rule
    reads, so it says so instead of guessing."""
    def build():
        model = tr.RopeViT(attention="rope")
        table = model.rope.get_embed
        model.rope.get_embed = lambda shape: table(shape).expand(4, -1, -1)  # one per head: [H, N, 2·D]
        return model

    report = analyse(import_model(build, SHAPE).graph)
    assert any("RoPE table of shape" in gap.reason for gap in report.unsupported)


BAD_SPECS = {
    "rope_prefix_tokens: 2": "rope_prefix_tokens 2 needs rope",
    "rope: true, rope_prefix_tokens: 9": "rope_prefix_tokens 9 needs rope and at most 8 tokens",
    "k_bias: maybe": "attribute 'k_bias' must be one of learned, none, zeros",
}


@pytest.mark.parametrize("attrs", list(BAD_SPECS))
def test_bad_rope_and_key_bias_options_get_one_line(attrs, tmp_path):
    from typer.testing import CliRunner

    from archcalc.cli import app
    from tests.cli_errors import assert_one_line_error

    spec = tmp_path / "net.yaml"
    spec.write_text("input: [8, 16]\nlayers:\n  - {name: attn, type: multi_head_attention, num_heads: 2, "
                    f"{attrs}}}\n")
    assert_one_line_error(CliRunner().invoke(app, ["report", str(spec)]), BAD_SPECS[attrs])


def test_a_spec_with_the_timm_options_checks_against_torch(tmp_path):
    """The options from a spec: the torch build (archcalc's Attention with a zero key-bias buffer and RoPE after
    the prefix tokens) agrees with the counts, layer by layer."""
    from archcalc.check import check

    graph = load_spec_text("input: [9, 16]\nlayers:\n  - {name: attn, type: multi_head_attention, num_heads: 2, "
                           "rope: true, rope_prefix_tokens: 1, k_bias: zeros}\n")
    report = analyse(graph)
    assert report.totals.buffers == 16 and report.totals.params == 4 * 16 * 16 + 3 * 16
    assert all(v.status != "differ" for v in check(graph).totals)
    assert all(v.status != "differ" for layer in check(graph).layers for v in layer.verdicts)


def test_a_tensor_torch_fx_folded_from_a_buffer_is_a_constant_made_from_it():
    """DINOv3's `self.periods[None, None, :]` reaches the trace as a tensor no call returned (torch.fx computed it
    while tracing): a constant, made from the buffer it views, so the attention that reads it holds the buffer.
    A tensor a traced call returned but no layer models (a GRU's h_n) is not folded."""
    from archcalc.importer.constants import Constants
    from archcalc.importer.trace import Traced

    periods, unmodelled = torch.arange(4.0), torch.zeros(2, 3)
    folded = periods[None, :]
    constants = Constants({}, {id(periods): periods}, {id(periods)}, 2, traced={id(unmodelled)})
    out = torch.zeros(1, 4)
    call = Traced(torch.div, False, (torch.ones(1, 4), folded), {}, out, "", "truediv")
    assert constants.absorb(call, [out], [call.args[0], folded])
    assert constants.sources([out]) == [periods]
    assert not constants.folded(unmodelled) and not constants.folded(periods)
    hooks = Constants({}, {id(periods): periods}, {id(periods)}, 2)  # forward hooks miss code: never folded
    assert not hooks.folded(torch.ones(3))
