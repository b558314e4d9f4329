"""Import rules for Hugging Face attention classes: each is one `multi_head_attention` layer.

Traced through, a Hugging Face attention is projections, reshapes, RoPE's rotate_half (slices, neg, cat,
products with cos/sin tables) and an SDPA call whose mask is built from tensor factories: the pieces count,
but what they are (a causal self-attention with H query heads, H_kv key/value heads and RoPE) is lost, and
that is what the LLM section (KV cache per token, decoding FLOPs) needs. So the class maps as a whole, as
archcalc's own `multi_head_attention` (same projections, same RoPE, same products).

What the call reads besides the hidden states are constants (archcalc/importer/constants.py): the cos/sin
tables of the model's rotary embedding, made from position ids and the `inv_freq` buffer (which this
layer then holds as an index table), and the causal mask (or None). A mask computed from the input's
values (padding) is a layer output, not a constant: the rule then refuses the call (two tensor inputs).

    Llama, Mistral, Qwen2   q_proj, k_proj, v_proj, o_proj (nn.Linear), causal, RoPE on all D features
                            (or `partial_rotary_factor` of them), GQA from num_key_value_heads. A sliding
                            window shorter than the sequence (Mistral) cannot map: the type has no window.
    GPT-2                   c_attn (E -> 3E) and c_proj (transformers' Conv1D, biased), causal, no RoPE;
                            a cross-attention (encoder_hidden_states) cannot map.

The parameters the layer type counts must equal the module's (the importer checks), so a class with
extra pieces (q/k norms) is refused rather than miscounted. Classes join only when transformers is
already imported (`ImportRule.foreign`): archcalc never imports it.
"""

from __future__ import annotations

from archcalc.layers.imports import Call, CannotMap, ImportRule

_ROTARY = tuple(f"transformers.models.{name}.modeling_{name}.{cls}Attention"
                for name, cls in (("llama", "Llama"), ("mistral", "Mistral"), ("qwen2", "Qwen2")))  # fmt: skip
_GPT2 = ("transformers.models.gpt2.modeling_gpt2.GPT2Attention",)
_PROJECTIONS = {"q_proj", "k_proj", "v_proj", "o_proj"}


def _one_input(call: Call) -> bool:
    return len(call.in_shapes) == 1 and len(call.in_shapes[0]) == 2


def _rotary(call: Call) -> dict:
    m = call.module
    config = m.config
    children = {name for name, child in m.named_children() if any(True for _ in child.parameters())}
    if children != _PROJECTIONS:
        raise CannotMap(f"holds {', '.join(sorted(children - _PROJECTIONS)) or 'no q/k/v/o projections'} beside "
                        "q_proj, k_proj, v_proj and o_proj")  # fmt: skip
    if call.kwargs.get("position_embeddings", call.args[1] if len(call.args) > 1 else None) is None:
        raise CannotMap("no position embeddings (cos, sin) given: RoPE is not applied")
    window = getattr(m, "sliding_window", getattr(config, "sliding_window", None))
    tokens = call.in_shapes[0][0]
    if window is not None and window < tokens:
        raise CannotMap(f"a sliding window of {window} tokens, shorter than the {tokens} tokens: "
                        "multi_head_attention has no window")  # fmt: skip
    rope = dict(getattr(config, "rope_parameters", None) or {})
    factor = rope.get("partial_rotary_factor", getattr(config, "partial_rotary_factor", 1.0)) or 1.0
    head_dim = m.head_dim
    rotary = int(head_dim * factor)
    return {"num_heads": config.num_attention_heads, "kv_heads": config.num_key_value_heads, "head_dim": head_dim,
            "bias": m.q_proj.bias is not None, "out_bias": m.o_proj.bias is not None, "causal": bool(m.is_causal),
            "rope": True, "rotary_dims": None if rotary == head_dim else rotary - rotary % 2,
            "rope_base": float(rope.get("rope_theta", getattr(config, "rope_theta", 10000.0))),
            "dropout": float(getattr(m, "attention_dropout", 0.0) or 0.0)}  # fmt: skip


def _gpt2(call: Call) -> dict:
    m = call.module
    if m.is_cross_attention or call.kwargs.get("encoder_hidden_states") is not None:
        raise CannotMap("a cross-attention (encoder_hidden_states): keys and values from another sequence")
    return {"num_heads": m.num_heads, "bias": True, "causal": bool(m.is_causal),
            "dropout": float(m.attn_dropout.p)}  # fmt: skip


def hugging_face_rules(layer: str) -> tuple[ImportRule, ...]:
    """The rules `multi_head_attention` adds to its own."""
    return (ImportRule(layer, foreign=_ROTARY, read=_rotary, when=_one_input, constant_operands=True,
                       note="Llama, Mistral, Qwen2: causal, GQA, RoPE (cos/sin and the mask: constants)"),
            ImportRule(layer, foreign=_GPT2, read=_gpt2, when=_one_input, constant_operands=True,
                       note="GPT-2: c_attn and c_proj (Conv1D), causal self-attention"))  # fmt: skip
