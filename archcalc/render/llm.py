"""The LLM section (a decoder's report) for every format: JSON object, title and (label, exact, approx.) rows.

Exact integers everywhere; a rule's error is an exact fraction, rounded only here, for display.
"""

from __future__ import annotations

from fractions import Fraction

from archcalc.analysis.llm import LLMFigures, RuleOfThumb
from archcalc.analysis.results import DTYPE_BYTES
from archcalc.render.units import exact, human, human_bytes

QUADRATIC_TERMS = "QKᵀ, mask, softmax, A·V"


def number(value: Fraction | int) -> int | float:
    """A Fraction as JSON: an integer when it is one (always, for a decoder's per-token counts)."""
    value = Fraction(value)
    return value.numerator if value.denominator == 1 else float(value)


def percent(off: Fraction) -> str:
    return f"{float(off * 100):+.2f}%"


def approx(value: Fraction | int) -> str:
    """1.54 G; beyond the E prefix (training runs), scientific: 9.22e+22."""
    return f"{float(value):.2e}" if value >= 10**21 else human(round(value))


def exact_text(value: Fraction | int) -> str:
    value = Fraction(value)
    return exact(value.numerator) if value.denominator == 1 else f"{float(value):,.2f}"


def title(llm: LLMFigures) -> str:
    shapes = "; ".join(f"H {h}, H_kv {kv}, D {d}" for h, kv, d in llm.heads)
    return (f"LLM arithmetic: decoder of {llm.attention_layers} causal self-attention layers ({shapes}); "
            f"T = {llm.context:,} tokens, batch {llm.batch}, {llm.dtype} (docs/llm.md)")  # fmt: skip


def _rule_dict(rule: RuleOfThumb) -> dict:
    return {"name": rule.name, "formula": rule.formula, "per_token": rule.per_token,
            "exact_per_token": number(rule.exact_per_token), "off_percent": float(rule.off * 100)}  # fmt: skip


def llm_dict(llm: LLMFigures) -> dict:
    return {
        "context": llm.context, "batch": llm.batch, "dtype": llm.dtype,
        "attention_layers": llm.attention_layers, "attention_width": llm.attention_width,
        "heads": [{"heads": h, "kv_heads": kv, "head_dim": d} for h, kv, d in llm.heads],
        "params": {"total": llm.params, "embedding": llm.embedding_params, "lm_head": llm.lm_head,
                   "lm_head_params": llm.lm_head_params, "non_embedding": llm.non_embedding_params,
                   "non_embedding_with_lm_head": llm.non_embedding_params + llm.lm_head_params},
        "prefill": {"tokens": llm.context, "macs": llm.prefill_macs, "flops": llm.prefill_flops,
                    "quadratic_flops": llm.prefill_quadratic_flops,
                    "linear_flops": llm.prefill_flops - llm.prefill_quadratic_flops},
        "decode": {"context": llm.context, "macs_per_token": llm.decode_macs, "flops_per_token": llm.decode_flops,
                   "attention_flops_per_token": llm.decode_attention_flops, "flops_per_step": llm.decode_step_flops,
                   "note": llm.decode_note},
        "kv_cache": {"elements_per_token": llm.kv_elements_per_token, "bytes_per_token": llm.kv_bytes_per_token,
                     "bytes": llm.kv_cache_bytes, "tokens": llm.context, "batch": llm.batch},
        "forward": {"flops_per_sequence": llm.forward_flops_per_sequence,
                    "flops_per_token": number(llm.forward_flops_per_token),
                    "rules": [_rule_dict(rule) for rule in llm.forward_rules]},
        "training": {"flops_per_sequence": llm.training_flops_per_sequence,
                     "flops_per_token": number(llm.training_flops_per_token),
                     "rules": [_rule_dict(rule) for rule in llm.training_rules], "tokens": llm.tokens,
                     "flops": None if llm.tokens is None else number(llm.training_flops_total),
                     "six_nd": llm.six_nd, "iterations": llm.iterations},
    }  # fmt: skip


def _kv_formula(llm: LLMFigures) -> str:
    width = DTYPE_BYTES[llm.dtype]
    if len(llm.heads) == 1 and llm.kv_elements_per_token == 2 * llm.attention_layers * llm.heads[0][1] * llm.heads[0][2]:
        _, kv, d = llm.heads[0]
        return f"2 (K, V) × {llm.attention_layers} layers × {kv} KV heads × {d} × {width} B"
    return f"Σ over layers of 2 × KV heads × head size × {width} B"


def _rule_rows(rules: list[RuleOfThumb]) -> list[tuple[str, str, str]]:
    return [(f"  {rule.name}", exact(rule.per_token), f"{approx(rule.per_token)} ({percent(rule.off)} vs exact)")
            for rule in rules]  # fmt: skip


def llm_rows(llm: LLMFigures) -> list[tuple[str, str, str]]:
    """(label, exact, approx.) rows for the markdown, HTML and terminal reports."""
    T, B = f"{llm.context:,}", llm.batch
    rows = [("embedding params (token, position tables)", exact(llm.embedding_params), human(llm.embedding_params))]
    if llm.lm_head is not None:
        rows.append((f"LM head params (untied: {llm.lm_head})", exact(llm.lm_head_params), human(llm.lm_head_params)))
    rows.append(("non-embedding params N (Kaplan: no tables, no LM head)", exact(llm.non_embedding_params),
                 human(llm.non_embedding_params)))  # fmt: skip
    if llm.lm_head is not None:
        with_head = llm.non_embedding_params + llm.lm_head_params
        rows.append(("non-embedding params with the LM head", exact(with_head), human(with_head)))
    quadratic = llm.prefill_quadratic_flops
    rows += [(f"prefill FLOPs ({T}-token prompt, batch {B})", exact(llm.prefill_flops), human(llm.prefill_flops)),
             (f"  of which ∝ L² ({QUADRATIC_TERMS})", exact(quadratic),
              f"{float(Fraction(quadratic, llm.prefill_flops) * 100):.1f}%")]  # fmt: skip
    if llm.decode_flops is None:
        rows.append((f"decode FLOPs / token at context {T}", "unknown", llm.decode_note or ""))
    else:
        attention = llm.decode_attention_flops or 0
        rows += [(f"decode FLOPs / token at context {T} (KV cache)", exact(llm.decode_flops), human(llm.decode_flops)),
                 (f"  of which attention over the {T} cached tokens", exact(attention),
                  f"{float(Fraction(attention, llm.decode_flops) * 100):.1f}%")]  # fmt: skip
        if B > 1:
            step = llm.decode_step_flops or 0
            rows.append((f"decode FLOPs / step (batch {B})", exact(step), human(step)))
    rows += [(f"KV cache / token ({_kv_formula(llm)})", exact(llm.kv_bytes_per_token) + " B",
              human_bytes(llm.kv_bytes_per_token)),
             (f"KV cache ({T} tokens × batch {B}, {llm.dtype})", exact(llm.kv_cache_bytes) + " B",
              human_bytes(llm.kv_cache_bytes)),
             ("forward FLOPs / token (exact)", exact_text(llm.forward_flops_per_token),
              approx(llm.forward_flops_per_token))]  # fmt: skip
    rows += _rule_rows(llm.forward_rules)
    rows.append(("training FLOPs / token (exact: forward + backward)", exact_text(llm.training_flops_per_token),
                 approx(llm.training_flops_per_token)))  # fmt: skip
    rows += _rule_rows(llm.training_rules)
    if llm.tokens is not None:
        total, six = llm.training_flops_total or 0, llm.six_nd or 0
        rows += [("training tokens D", exact(llm.tokens), human(llm.tokens)),
                 ("training FLOPs for D tokens (exact)", exact_text(total), approx(total)),
                 ("  6ND", exact(six), f"{approx(six)} ({percent(Fraction(six) / total - 1)} vs exact)"),
                 (f"optimizer steps (batch {B} × {T} tokens)", exact(llm.iterations or 0), "")]  # fmt: skip
    return rows
