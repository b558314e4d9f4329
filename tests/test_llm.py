"""The LLM arithmetic (archcalc/analysis/llm.py) against formulas written out here from the configs, and the
decoding step against torch's FlopCounterMode on Hugging Face's LlamaForCausalLM with a KV cache."""

from __future__ import annotations

import inspect
from fractions import Fraction

import pytest

from archcalc import analyse, load_spec, load_spec_text
from archcalc.analysis import TrainingPlan
from archcalc.analysis.llm import parse_tokens
from archcalc.errors import ArchcalcError

# A Llama-shaped decoder small enough for torch: GQA (4 query heads, 2 key/value heads of 16).
TINY = {"seq_len": 12, "num_layers": 2, "hidden_size": 64, "intermediate_size": 96, "vocab_size": 50,
        "num_heads": 4, "kv_heads": 2}  # fmt: skip


def figures(name: str, dtype: str = "float16", batch: int = 1, tokens: int | None = None, **overrides):
    plan = None if tokens is None else TrainingPlan(tokens=tokens)
    report = analyse(load_spec(name, overrides or None), batch=batch, dtype=dtype, training=plan)
    return report, report.llm


def test_llama2_7b_kv_cache_is_the_worked_reference():
    """2 (K, V) × 32 layers × 32 KV heads × 128 × 2 B = 524,288 B per token; 2 GiB at 4,096 tokens."""
    _, llm = figures("llama2_7b")
    assert llm.kv_bytes_per_token == 2 * 32 * 32 * 128 * 2 == 524_288
    assert llm.context == 4096 and llm.kv_cache_bytes == 2_147_483_648 == 2 * 2**30


def test_gqa_shrinks_the_kv_cache_by_the_head_ratio():
    _, llama3 = figures("llama3_8b")
    assert llama3.kv_bytes_per_token == 2 * 32 * 8 * 128 * 2 == 131_072
    _, full = figures("llama2_7b", seq_len=1024)
    _, grouped = figures("llama2_7b", seq_len=1024, kv_heads=8)
    assert full.kv_bytes_per_token == 4 * grouped.kv_bytes_per_token
    # fewer K and V projection weights, the same query heads (the products and Kaplan's d_attn stay)
    assert grouped.params == full.params - 32 * 2 * 4096 * (4096 - 8 * 128)
    assert grouped.attention_width == full.attention_width == 32 * 4096
    assert grouped.decode_attention_flops == full.decode_attention_flops


@pytest.mark.parametrize("dtype, width", [("float32", 4), ("bfloat16", 2), ("int8", 1)])
def test_kv_cache_follows_dtype_and_batch(dtype, width):
    _, llm = figures("llama2_7b", dtype=dtype, batch=3, seq_len=100)
    assert llm.kv_bytes_per_token == 2 * 32 * 32 * 128 * width
    assert llm.kv_cache_bytes == llm.kv_bytes_per_token * 100 * 3


def test_parameters_split_by_the_registry():
    """Llama: token table V·E and an untied head V·E; GPT-2: token and position tables, no head; Kaplan's N
    for GPT-2 small is 85,056,000 = n_layer·(12d² + 13d) + 2d."""
    _, llama = figures("llama2_7b")
    assert (llama.embedding_params, llama.lm_head, llama.lm_head_params) == (32000 * 4096, "lm_head", 32000 * 4096)
    assert llama.non_embedding_params == 6_738_415_616 - 2 * 32000 * 4096 == 6_476_271_616
    _, gpt2 = figures("gpt2_small")
    d = 768
    assert (gpt2.embedding_params, gpt2.lm_head, gpt2.lm_head_params) == (50257 * d + 1024 * d, None, 0)
    assert gpt2.non_embedding_params == 12 * (12 * d * d + 13 * d) + 2 * d == 85_056_000


def test_the_embedding_split_comes_from_the_registry_not_from_names():
    text = """
name: renamed
input: [8]
input_dtype: int64
layers:
  - {name: lm_head, type: embedding, num_embeddings: 10, embedding_dim: 16}
  - {name: embed_tokens, type: multi_head_attention, num_heads: 2, causal: true}
  - {name: wte, type: linear, out_features: 10, bias: false}
"""
    llm = analyse(load_spec_text(text)).llm
    assert (llm.embedding_params, llm.lm_head, llm.lm_head_params) == (160, "wte", 160)


def _tiny_decode_flops(T: int, E=64, H=4, Hkv=2, D=16, I=96, V=50, n=2) -> int:
    """One new token at context T, written out: per layer two RMSNorms (4 per element), the q/k/v/o
    projections (2·n_in − 1 per output, no bias), RoPE on q and k (3 per rotated element), scaling the query,
    QKᵀ over T keys, softmax, A·V, two residual adds, the SwiGLU MLP (three projections, SiLU 5, one
    multiply); then the final norm and the head."""
    projections = H * D * (2 * E - 1) + 2 * Hkv * D * (2 * E - 1) + E * (2 * H * D - 1)
    attention = 3 * D * (H + Hkv) + H * D + H * T * (2 * D - 1) + H * (3 * T - 1) + H * D * (2 * T - 1)
    mlp = 2 * I * (2 * E - 1) + 5 * I + I + E * (2 * I - 1)
    layer = 2 * 4 * E + projections + attention + 2 * E + mlp
    return n * layer + 4 * E + V * (2 * E - 1)


@pytest.mark.parametrize("T", [1, 12, 100])
def test_decode_flops_equal_the_formula_written_out(T):
    _, llm = figures("llama2_7b", **{**TINY, "seq_len": T})
    assert llm.decode_flops == _tiny_decode_flops(T)
    quadratic = 2 * (4 * T * (2 * 16 - 1) + 4 * (3 * T - 1) + 4 * 16 * (2 * T - 1))
    assert llm.decode_attention_flops == quadratic


def test_decode_macs_equal_flop_counter_mode_on_llama_with_a_kv_cache():
    """FlopCounterMode counts 2 FLOPs per MAC of every matrix product: the decoding step of a Hugging Face
    LlamaForCausalLM after a prompt of T − 1 tokens (past_key_values), the new token attending to T keys."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode

    T = TINY["seq_len"]
    config = transformers.LlamaConfig(hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
                                      num_key_value_heads=2, vocab_size=50, max_position_embeddings=64)  # fmt: skip
    torch.manual_seed(0)
    model = transformers.LlamaForCausalLM(config).eval()
    # transformers 5 calls the KV cache `cache` (4.x: past_key_values)
    name = "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"
    with torch.no_grad(), sdpa_kernel(SDPBackend.MATH):
        prompt = model(torch.zeros(1, T - 1, dtype=torch.long), use_cache=True)
        cached = getattr(prompt, name)
        with FlopCounterMode(display=False) as counter:
            model(torch.zeros(1, 1, dtype=torch.long), use_cache=True, **{name: cached})
    _, llm = figures("llama2_7b", **TINY)
    assert 2 * llm.decode_macs == counter.get_total_flops()
    keys = cached.layers[0].keys if hasattr(cached, "layers") else cached[0][0]
    assert keys.shape[1:] == (2, T, 16)  # after the step the cache holds T tokens of 2 KV heads of 16
    assert keys.numel() * 2 * 2 * 2 == llm.kv_bytes_per_token * T  # K and V, two layers, 2 bytes (float16)


def test_prefill_is_the_forward_pass_and_its_quadratic_part_the_score_terms():
    report, llm = figures("llama2_7b", batch=2, **TINY)
    assert (llm.prefill_flops, llm.prefill_macs) == (report.totals.flops, report.totals.macs)
    L, H, D = 12, 4, 16
    per_layer = H * L * L * (2 * D - 1) + H * L * L + H * L * (3 * L - 1) + H * L * D * (2 * L - 1)
    assert llm.prefill_quadratic_flops == 2 * 2 * per_layer  # two layers, batch 2
    assert llm.decode_step_flops == 2 * llm.decode_flops


def test_training_per_token_and_the_rules_of_thumb():
    report, llm = figures("llama2_7b", tokens=2 * 10**12)
    training = report.training
    assert training is not None and llm.training_flops_per_sequence == training.iteration_flops
    exact = Fraction(training.iteration_flops, 4096)
    assert exact.denominator == 1 and llm.training_flops_per_token == exact
    N = 6_476_271_616
    six_n, all_params, kaplan = llm.training_rules
    assert (six_n.per_token, all_params.per_token) == (6 * N, 6 * 6_738_415_616)
    assert kaplan.per_token == 6 * N + 6 * 32 * 4096 * 4096  # 6N + 6·n_layer·n_ctx·d_attn
    assert six_n.off == Fraction(6 * N, 1) / exact - 1 and six_n.off < 0
    assert llm.forward_rules[2].per_token == 2 * N + 2 * 32 * 4096 * 4096
    assert llm.forward_flops_per_token == Fraction(report.totals.flops, 4096)
    assert llm.training_flops_total == exact * 2 * 10**12 and llm.six_nd == 6 * N * 2 * 10**12
    assert llm.iterations == -(-2 * 10**12 // 4096)


def test_the_kaplan_term_grows_with_the_context():
    short, long = figures("llama2_7b", seq_len=512)[1], figures("llama2_7b", seq_len=8192)[1]
    assert abs(long.training_rules[0].off) > abs(short.training_rules[0].off)  # 6N misses more at long context
    assert long.training_rules[2].per_token - short.training_rules[2].per_token == 6 * 32 * 4096 * (8192 - 512)


@pytest.mark.parametrize("name", ["bert_base", "resnet18", "vit_b_16", "swin_t", "examples/depthwise_separable"])
def test_other_graphs_get_no_llm_figures(name):
    assert analyse(load_spec(name)).llm is None


def test_cross_attention_or_a_bidirectional_layer_is_not_a_decoder():
    base = """
input: [8]
input_dtype: int64
layers:
  - {name: tok, type: embedding, num_embeddings: 10, embedding_dim: 16}
  - {name: a, type: multi_head_attention, num_heads: 2, causal: true}
"""
    assert analyse(load_spec_text(base)).llm is not None
    assert analyse(load_spec_text(base + "  - {name: b, type: multi_head_attention, num_heads: 2}\n")).llm is None
    cross = base + "  - {name: c, type: multi_head_attention, num_heads: 2, causal: true, inputs: [a, tok]}\n"
    assert analyse(load_spec_text(cross)).llm is None


def test_a_layer_that_mixes_positions_leaves_the_decoding_step_unknown():
    text = """
input: [8]
input_dtype: int64
layers:
  - {name: tok, type: embedding, num_embeddings: 10, embedding_dim: 16}
  - {name: a, type: multi_head_attention, num_heads: 2, causal: true}
  - {name: mix, type: softmax, axis: 0}
"""
    llm = analyse(load_spec_text(text)).llm  # a softmax over the tokens: E·(3L − 1), not L times its cost at 1
    assert llm is not None and llm.decode_flops is None and llm.decode_note.startswith("mix (softmax)")
    assert llm.kv_bytes_per_token == 2 * 16 * 4 and llm.training_flops_per_sequence > 0


@pytest.mark.parametrize("text, value", [("2T", 2 * 10**12), ("300B", 3 * 10**11), ("1.4e12", 14 * 10**11),
                                         ("1,000,000", 10**6), ("7g", 7 * 10**9), ("15k", 15_000)])  # fmt: skip
def test_token_counts_read_like_a_paper_writes_them(text, value):
    assert parse_tokens(text) == value


@pytest.mark.parametrize("text", ["", "T", "2X", "-5", "0", "1.5", "nan", "inf", "2TT", "1e400", "9" * 400])
def test_bad_token_counts_are_one_line_errors(text):
    with pytest.raises(ArchcalcError) as caught:
        parse_tokens(text)
    assert "\n" not in str(caught.value) and len(str(caught.value)) < 300


def test_tokens_need_a_decoder_and_exclude_a_dataset_size():
    with pytest.raises(ArchcalcError, match="not a decoder"):
        analyse(load_spec("resnet18"), training=TrainingPlan(tokens=1000))
    with pytest.raises(ArchcalcError, match="not both"):
        analyse(load_spec("llama2_7b", TINY), training=TrainingPlan(dataset_size=5, tokens=1000))


def test_a_sweep_of_the_context_shows_the_quadratic_terms_against_the_linear_ones():
    from archcalc.analysis.sweep import run_sweep

    sweep = run_sweep("llama2_7b", {"seq_len": [8, 16, 32]}, dtype="float16")
    rows = [point.row() for point in sweep.points]
    quadratic = [row["prefill_quadratic_flops"] for row in rows]
    linear = [row["prefill_linear_flops"] for row in rows]
    # doubling L: the score terms grow about 4x (exactly: H·L·(L·(2D − 1) + L + 3L − 1 + D·(2L − 1)) per layer)
    H, D = 32, 128
    assert quadratic == [32 * H * L * (L * (2 * D - 1) + L + 3 * L - 1 + D * (2 * L - 1)) for L in (8, 16, 32)]
    assert linear[1] == 2 * linear[0] and linear[2] == 2 * linear[1]  # everything else is linear in L
    assert [row["kv_cache_bytes"] for row in rows] == [524_288 * L for L in (8, 16, 32)]
    assert run_sweep("resnet18", {"num_classes": [10]}).metrics[-1] == "peak_activation_bytes"  # no LLM columns
