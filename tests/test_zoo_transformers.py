"""The transformer zoo: ViT-B/16, ViT-L/16, Swin-T, ConvNeXt-T (torchvision), BERT-base, GPT-2 small,
Llama-2-7B and Llama-3-8B (Hugging Face).

- parameters exact against the reference implementations' published counts (the Hugging Face ones are
  also built on the meta device in tests/test_import_transformers.py);
- the five convention profiles reproduce fvcore, ptflops, thop, torchinfo and FlopCounterMode on
  torchvision's own models to the unit: tests/data/torchvision_peer_totals.json, measured with torchvision
  by `make peer-totals` (torchvision cannot sit beside .venv's CPU torch);
- `check` at a small size (shapes, parameters, MACs against FlopCounterMode on the meta device, which counts
  attention's products), token-id input included; the full sizes run in tests/test_check.py;
- the attention memory: the score matrices are activation memory unless `flash`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from archcalc import analyse, load_spec
from archcalc.check import AGREE, CheckOptions, check
from archcalc.check.results import FLOP_COUNTER, SHAPE
from archcalc.conventions import count_convention

PEERS = json.loads((Path(__file__).parent / "data" / "torchvision_peer_totals.json").read_text())
TORCHVISION_FOUR = ("vit_b_16", "vit_l_16", "swin_t", "convnext_tiny")

PARAMS = {"vit_b_16": 86_567_656, "vit_l_16": 304_326_632, "swin_t": 28_288_354, "convnext_tiny": 28_589_128,
          "swin_v2_t": 28_351_570,
          "bert_base": 109_482_240, "gpt2_small": 124_439_808, "llama2_7b": 6_738_415_616,
          "llama3_8b": 8_030_261_248}  # fmt: skip
BUFFERS = {"swin_t": 28_812,  # 12 blocks' relative-position indices, 49 x 49 each
           "swin_v2_t": 54_552}  # 12 blocks' indices (64 x 64) and coordinate tables (15 x 15 x 2)


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_params_equal_the_reference_implementation(name):
    totals = analyse(load_spec(name)).totals
    assert (totals.params, totals.buffers) == (PARAMS[name], BUFFERS.get(name, 0))
    assert totals.trainable_params == totals.params


def test_the_recorded_figures_are_torchvisions():
    assert PEERS["versions"]["torchvision"] and set(TORCHVISION_FOUR) <= set(PEERS["models"])
    for name in TORCHVISION_FOUR:
        measured = PEERS["models"][name]
        assert measured["params"] == PARAMS[name] and measured["buffers"] == BUFFERS.get(name, 0)
        assert measured["input"] == list(load_spec(name).input_shape)


@pytest.mark.parametrize("name", TORCHVISION_FOUR)
def test_every_profile_reproduces_the_tool_on_torchvisions_model(name):
    graph = load_spec(name)
    report = analyse(graph)
    predicted = {tool: count_convention(graph, report, tool).total for tool in PEERS["models"][name]["totals"]}
    assert predicted == PEERS["models"][name]["totals"]


def test_vit_b_16_differences_are_the_attention_and_the_norms():
    """The itemised reading of docs/conventions.md: what each tool leaves out or adds on ViT-B/16."""
    graph = load_spec("vit_b_16")
    report = analyse(graph)
    attention = sum(layer.macs for layer in report.layers if layer.type == "multi_head_attention")
    assert attention == 12 * (348_585_984 + 2 * 29_805_312 + 116_195_328)
    outside = report.totals.macs - attention
    assert count_convention(graph, report, "torch").total == 2 * outside
    fvcore = count_convention(graph, report, "fvcore")
    assert fvcore.total == outside + fvcore.items["norm"] and fvcore.items["norm"] == 25 * 197 * 768 * 5
    thop = count_convention(graph, report, "thop")
    assert thop.total == outside + 25 * 197 * 768 * 4


SMALL = {  # one block, a few tokens: check's witnesses run in a second or two
    "vit_b_16": {"num_layers": 1, "image_size": 32}, "vit_l_16": {"num_layers": 1, "image_size": 32},
    "swin_t": {"depths": [2, 2, 1, 1], "image_size": 64}, "swin_v2_t": {"depths": [2, 2, 1, 1], "image_size": 64},
    "convnext_tiny": {"depths": [1, 1, 1, 1], "image_size": 64},
    "bert_base": {"num_layers": 1, "seq_len": 16}, "gpt2_small": {"n_layer": 1, "seq_len": 16},
    "llama2_7b": {"num_layers": 1, "seq_len": 16}, "llama3_8b": {"num_layers": 1, "seq_len": 16},
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(SMALL))
def test_check_agrees_at_a_small_size(name):
    report = check(load_spec(name, SMALL[name]), CheckOptions(fvcore_max_macs=10**8, rf_budget=10**6))
    assert report.agrees
    assert {layer.verdict(SHAPE).status for layer in report.layers} == {AGREE}
    attention = [layer for layer in report.layers if "attention" in layer.type]
    if attention:  # QKᵀ and A·V witnessed by FlopCounterMode, layer by layer
        assert {layer.verdict(FLOP_COUNTER).status for layer in attention} == {AGREE}


def test_llama_kv_heads_shrink_the_kv_cache_and_the_projections_not_the_products():
    llama2, llama3 = load_spec("llama2_7b", {"seq_len": 64}), load_spec("llama3_8b", {"seq_len": 64})
    mha = [next(node for node in graph.nodes if node.type == "multi_head_attention") for graph in (llama2, llama3)]
    shapes = [[(64, 4096)]] * 2
    caches = [node.rule.kv_cache_elements(node.attrs, ins) for node, ins in zip(mha, shapes)]
    assert caches == [2 * 32 * 128, 2 * 8 * 128]  # per token and layer: K and V of every key/value head
    terms = [{t.name: t.macs for t in node.rule.geometry(node.attrs, ins).terms()} for node, ins in zip(mha, shapes)]
    assert terms[0]["scores"] == terms[1]["scores"] == 32 * 64 * 64 * 128
    assert terms[1]["k_proj"] * 4 == terms[0]["k_proj"]
    # a decoding step at context 4096 with a KV cache: one query, K and V projected for the new token only
    step = mha[1].rule.geometry(mha[1].attrs, shapes[1]).decoding(4096)
    costs = {t.name: t.macs for t in step.terms()}
    assert costs["q_proj"] == 4096 * 4096 and costs["k_proj"] == costs["v_proj"] == 4096 * 1024
    assert costs["scores"] == costs["A·V"] == 32 * 4096 * 128 and "mask" not in {t.name for t in step.terms()}


@pytest.mark.parametrize("name, heads_tokens", [("vit_b_16", (12, 197)), ("gpt2_small", (12, 1024)),
                                                ("llama2_7b", (32, 4096))])  # fmt: skip
def test_the_score_matrix_is_activation_memory_unless_flash(name, heads_tokens):
    heads, tokens = heads_tokens
    layers = {"vit_b_16": 12, "gpt2_small": 12, "llama2_7b": 32}[name]
    plain, flash = analyse(load_spec(name)), analyse(load_spec(name, {"flash": True}))
    assert plain.totals.activations - flash.totals.activations == layers * heads * tokens * tokens
    assert plain.totals.activation_bytes - flash.totals.activation_bytes == 4 * layers * heads * tokens * tokens
    # the peak counts an attention's scores while it runs: ViT's peak is elsewhere (the image and patches)
    assert plain.totals.peak_activation_bytes >= flash.totals.peak_activation_bytes
    if name != "vit_b_16":  # long sequences: one attention's scores set the peak
        assert plain.totals.peak_activation_bytes > 4 * heads * tokens * tokens > flash.totals.peak_activation_bytes
    assert (plain.totals.macs, plain.totals.flops) == (flash.totals.macs, flash.totals.flops)


def test_the_vit_table_in_docs_conventions_is_the_commands_output():
    """docs/conventions.md shows `archcalc conventions vit_b_16 --format markdown` verbatim: it cannot go stale."""
    from typer.testing import CliRunner

    import archcalc.cli

    result = CliRunner().invoke(archcalc.cli.app, ["conventions", "vit_b_16", "--format", "markdown"])
    assert result.exit_code == 0, result.output
    table = [line for line in result.stdout.splitlines() if line.startswith("|")]
    docs = (Path(__file__).resolve().parents[1] / "docs" / "conventions.md").read_text()
    assert len(table) == 8 and "\n".join(table) in docs
