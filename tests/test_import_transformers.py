"""Hugging Face models and the zoo: Llama's grouped-query attention imports as one multi_head_attention per
layer (the rest of the families: tests/test_import_hugging_face.py), and the full-size configs, built on the meta
device (nothing allocated), have the zoo specs' parameter counts.
"""

from __future__ import annotations

import warnings

import pytest
import torch

from archcalc import analyse, load_spec
from archcalc.importer import import_model

transformers = pytest.importorskip("transformers")  # a dev dependency: always there in CI

TOKENS = 8
SMALL = dict(num_hidden_layers=2, num_attention_heads=4, intermediate_size=128, vocab_size=100,
             max_position_embeddings=32, use_cache=False)  # fmt: skip


def llama_gqa():
    return transformers.LlamaForCausalLM(transformers.LlamaConfig(hidden_size=64, num_key_value_heads=2, **SMALL))


def test_gqa_attention_is_counted_once_per_query_head():
    """Llama with 4 query heads and 2 key/value heads (one multi_head_attention per layer): QKᵀ and A·V run
    over all 4 query heads, the k and v projections make 2 heads of 16."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = analyse(import_model(llama_gqa, (TOKENS,), input_dtype="int64").graph)
    attention = [layer for layer in report.layers if layer.type == "multi_head_attention"]
    assert len(attention) == 2
    projections = TOKENS * 64 * (4 * 16 + 2 * 2 * 16 + 64)
    assert all(layer.macs == projections + 2 * 4 * TOKENS * TOKENS * 16 for layer in attention)
    assert all(layer.output_shape == [TOKENS, 64] for layer in attention)


FULL = {
    "bert_base": (lambda: transformers.BertModel(transformers.BertConfig()), 109_482_240),
    "gpt2_small": (lambda: transformers.GPT2Model(transformers.GPT2Config()), 124_439_808),
    "llama2_7b": (lambda: transformers.LlamaForCausalLM(transformers.LlamaConfig(
        vocab_size=32000, hidden_size=4096, intermediate_size=11008, num_hidden_layers=32, num_attention_heads=32,
        num_key_value_heads=32, max_position_embeddings=4096, rms_norm_eps=1e-5)), 6_738_415_616),
    "llama3_8b": (lambda: transformers.LlamaForCausalLM(transformers.LlamaConfig(
        vocab_size=128256, hidden_size=4096, intermediate_size=14336, num_hidden_layers=32, num_attention_heads=32,
        num_key_value_heads=8, max_position_embeddings=8192, rms_norm_eps=1e-5, rope_theta=500000.0)),
        8_030_261_248),
}  # fmt: skip


@pytest.mark.parametrize("spec", sorted(FULL))
def test_zoo_spec_params_equal_the_full_size_hugging_face_model(spec):
    """Built on the meta device: parameters are counted without allocating them."""
    build, published = FULL[spec]
    with warnings.catch_warnings(), torch.device("meta"):
        warnings.simplefilter("ignore")
        model = build()
    assert sum(p.numel() for p in model.parameters()) == published
    assert analyse(load_spec(spec)).totals.params == published
