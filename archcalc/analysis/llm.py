"""LLM arithmetic for a decoder spec: embedding and non-embedding parameters, prefill and decoding FLOPs,
the KV cache, and training FLOPs per token next to the rules of thumb (docs/llm.md explains each figure).

A graph is a decoder when its input is a sequence of integer token ids ([L], int64) that an embedding
looks up, and every attention in it is a causal self-attention (one input; the registry's `attention`
gives its sizes). Nothing is decided by names. Other graphs get no LLM figures (`llm_arithmetic` -> None).

Figures, with T = L = the spec's sequence length (`seq_len`), B = the batch, per sample unless said:

    embedding params    Σ registry `embedding_params`: token, learned position and segment tables
    LM head params      the untied de-embedding: the layer with weights after the last attention whose
                        output has one feature per token id (V, the token table's rows); none when absent
    N (Kaplan)          params − embedding − LM head (Kaplan et al. 2020 §2.1: "excluding all vocabulary
                        and positional embeddings"; their de-embedding shares the token table, so it adds
                        no parameter and its FLOPs stay out of C_forward: an untied head is left out too)
    prefill             the forward pass over an L-token prompt, B sequences (the report's FLOPs)
    decode / token      one new token at context T with a KV cache: every position-wise layer at one token
                        (checked: its cost at L is exactly L times its cost at 1: a causal convolution
                        with a state passes, a softmax over the tokens does not), and each attention's
                        `decoding(T)` step (new q, k, v; the scores and A·V over T keys, itself included)
    KV cache            Σ over attentions Hkv·(D + Dv) elements per token, at the report's dtype; the whole
                        context holds T tokens for each of the B sequences
    training / token    (forward + backward FLOPs of one sequence, from archcalc's own rules) / L
    rules of thumb      2N and 6N; 2N and 6N with N = every parameter (Hoffmann et al. 2022 count all);
                        Kaplan's C_forward = 2N + 2·n_layer·n_ctx·d_attn and 3× that for training, with
                        n_layer·d_attn = Σ over attentions H·D and n_ctx = L; each rule's signed error
                        against the exact count is an exact fraction (rounded only when shown)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from fractions import Fraction

from archcalc.analysis.results import DTYPE_BYTES, Report
from archcalc.analysis.shapes import infer_shapes
from archcalc.errors import ArchcalcError, brief
from archcalc.graph import INPUT, Graph


@dataclass(frozen=True)
class RuleOfThumb:
    """A closed-form estimate per token, next to archcalc's exact count per token."""

    name: str  # "6N"
    formula: str  # "6·N", with the symbols docs/llm.md defines
    per_token: int
    exact_per_token: Fraction

    @property
    def off(self) -> Fraction:
        """(rule − exact) / exact: positive when the rule overestimates. Exact, from integers."""
        return (self.per_token - self.exact_per_token) / self.exact_per_token


@dataclass
class LLMFigures:
    context: int  # T = L: the prompt length of the prefill, the context of the decoding step
    batch: int
    dtype: str
    attention_layers: int  # n_layer
    attention_width: int  # Σ over attentions H·D (n_layer·d_attn when every layer has the same width)
    heads: list[int]  # H, Hkv and D of each distinct attention shape: [[32, 32, 128]]
    # parameters
    params: int
    embedding_params: int
    lm_head: str | None
    lm_head_params: int
    # inference (FLOPs and MACs; the prefill for the whole batch, the decoding step per sequence)
    prefill_macs: int
    prefill_flops: int
    prefill_quadratic_flops: int  # QKᵀ, mask, softmax, A·V: grow with L²
    decode_macs: int | None
    decode_flops: int | None
    decode_attention_flops: int | None  # the part over the T cached keys and values: grows with T
    decode_note: str | None  # why there is no decoding figure
    kv_elements_per_token: int
    kv_bytes_per_token: int  # per sequence
    kv_cache_bytes: int  # T tokens × B sequences
    # training
    forward_flops_per_sequence: int
    training_flops_per_sequence: int  # forward + backward
    forward_rules: list[RuleOfThumb] = field(default_factory=list)
    training_rules: list[RuleOfThumb] = field(default_factory=list)
    tokens: int | None = None  # `report --train --tokens`: the training set size D

    @property
    def non_embedding_params(self) -> int:
        """Kaplan et al.'s N: no token, position or segment table, and no LM head."""
        return self.params - self.embedding_params - self.lm_head_params

    @property
    def forward_flops_per_token(self) -> Fraction:
        return Fraction(self.forward_flops_per_sequence, self.context)

    @property
    def training_flops_per_token(self) -> Fraction:
        return Fraction(self.training_flops_per_sequence, self.context)

    @property
    def decode_step_flops(self) -> int | None:
        """One decoding step of the whole batch: B new tokens."""
        return None if self.decode_flops is None else self.decode_flops * self.batch

    @property
    def training_flops_total(self) -> Fraction | None:
        """Training FLOPs for `tokens` tokens: per token × D."""
        return None if self.tokens is None else self.training_flops_per_token * self.tokens

    @property
    def six_nd(self) -> int | None:
        return None if self.tokens is None else 6 * self.non_embedding_params * self.tokens

    @property
    def iterations(self) -> int | None:
        """Optimizer steps for D tokens at B sequences of L tokens: ceil(D / (B·L))."""
        return None if self.tokens is None else -(-self.tokens // (self.batch * self.context))


def decoder_attentions(graph: Graph, shapes: dict) -> list | None:
    """[(node, geometry)] of every attention when `graph` is a decoder (see the module docstring), else None."""
    if graph.input_dtype != "int64" or len(graph.input_shape) != 1:
        return None
    if not any(INPUT in node.inputs and node.rule.reads() == "tokens" for node in graph.nodes):
        return None
    found = []
    for node in graph.nodes:
        geometry = node.rule.attention(node.attrs, [shapes[name] for name in node.inputs])
        if geometry is None:
            continue
        if not geometry.causal or len(node.inputs) != 1:
            return None  # an encoder, or an encoder-decoder's cross-attention: not a decoder-only model
        found.append((node, geometry))
    return found or None


TOKEN_SUFFIXES = {"": 1, "k": 10**3, "m": 10**6, "b": 10**9, "g": 10**9, "t": 10**12}
MAX_TOKENS = 2**63 - 1


def check_tokens(tokens: int | None) -> None:
    if tokens is not None and (isinstance(tokens, bool) or not isinstance(tokens, int)
                               or not 1 <= tokens <= MAX_TOKENS):  # fmt: skip
        raise ArchcalcError(f"--tokens must be a positive number of training tokens below 2**63, got {brief(tokens)}")


def parse_tokens(text: str) -> int:
    """`--tokens 2T`: digits (1_000 or 1,000 allowed), a decimal or 2e12, with an optional K, M, B (= G) or T
    suffix (powers of 1,000: 2T = 2,000,000,000,000). The result must be a whole, positive number."""
    from decimal import Decimal, InvalidOperation

    cleaned = text.strip().replace("_", "").replace(",", "")
    suffix = cleaned[-1:].lower() if cleaned[-1:].isalpha() and cleaned[-1:].lower() != "e" else ""
    try:
        value = Decimal(cleaned[: len(cleaned) - len(suffix)]) * TOKEN_SUFFIXES[suffix]
    except (InvalidOperation, KeyError, ArithmeticError):
        value = None
    if value is None or not value.is_finite() or value != value.to_integral_value() or value < 1:
        raise ArchcalcError(f"--tokens takes a whole, positive number of tokens such as 2T, 300B, 1.4e12 or "
                            f"1000000 (K, M, B or G, T: powers of 1,000), got {brief(text)}")  # fmt: skip
    if value > MAX_TOKENS:  # before int(): 1e999999 would be a million-digit integer
        raise ArchcalcError(f"--tokens must be below 2**63, got {brief(text)}")
    return int(value)


def _lm_head(graph: Graph, report: Report, shapes: dict, attentions: list) -> tuple[str | None, int]:
    """The untied de-embedding: after the last attention, with weights, one output feature per token id."""
    table = next(node for node in graph.nodes if INPUT in node.inputs and node.rule.reads() == "tokens")
    width = shapes[table.name][-1]
    rows = table.rule.embedding_params(table.attrs, [shapes[INPUT]], shapes[table.name]) // width
    position = {node.name: index for index, node in enumerate(graph.nodes)}
    last = max(position[node.name] for node, _ in attentions)
    for node in graph.nodes[last + 1 :]:
        params = report.layers[position[node.name]].params
        if params and shapes[node.name][-1] == rows and report.layers[position[node.name]].category != "norm":
            return node.name, params
    return None, 0


def _decode_step(graph: Graph, report: Report, attentions: list, context: int) -> tuple[int, int, int, str | None]:
    """(MACs, FLOPs, attention FLOPs over the cache, note) of one new token at `context`, per sequence."""
    try:
        single = infer_shapes(dataclasses.replace(graph, input_shape=(1,)))
    except ArchcalcError as exc:
        return 0, 0, 0, f"the graph does not take a single token ({exc.message})"
    steps = {node.name: geometry.decoding(context) for node, geometry in attentions}
    macs = flops = attention_flops = 0
    for node, layer in zip(graph.nodes, report.layers):
        if node.name in steps:
            step = steps[node.name]
            macs, flops = macs + step.macs, flops + step.flops
            attention_flops += sum(term.flops for term in step.terms() if term.quadratic)
            continue
        ins, out = [single[name] for name in node.inputs], single[node.name]
        one_macs, one_flops = node.rule.macs(node.attrs, ins, out), node.rule.flops(node.attrs, ins, out)
        if (layer.macs, layer.flops) != (one_macs * context * report.batch, one_flops * context * report.batch):
            return 0, 0, 0, (f"{node.name} ({node.type}) does not cost L times its cost at one token: its cost per "
                             "new token is not known")  # fmt: skip
        macs, flops = macs + one_macs, flops + one_flops
    return macs, flops, attention_flops, None


def _rules(exact_per_sequence: int, context: int, factor: int, n: int, everything: int,
           attention_width: int) -> list[RuleOfThumb]:  # fmt: skip
    """2N-style rules (factor 2, forward) or 6N-style (factor 6, training) against the exact count."""
    exact = Fraction(exact_per_sequence, context)
    return [RuleOfThumb(f"{factor}N", f"{factor}·N", factor * n, exact),
            RuleOfThumb(f"{factor}N, N = all params", f"{factor}·N_all", factor * everything, exact),
            RuleOfThumb(f"Kaplan {factor}N + {factor}·n_layer·n_ctx·d_attn",
                        f"{factor}·N + {factor}·n_layer·n_ctx·d_attn", factor * n + factor * context * attention_width,
                        exact)]  # fmt: skip


def llm_arithmetic(graph: Graph, report: Report, tokens: int | None = None) -> LLMFigures | None:
    """The LLM figures of `report` (analysed from `graph`), or None when `graph` is not a decoder."""
    check_tokens(tokens)
    if graph.input_dtype != "int64":
        return None
    shapes = infer_shapes(graph)
    attentions = decoder_attentions(graph, shapes)
    if attentions is None:
        return None
    from archcalc.analysis.training import training_costs

    context, batch = graph.input_shape[0], report.batch
    ins = {node.name: [shapes[name] for name in node.inputs] for node in graph.nodes}
    embedding = sum(node.rule.embedding_params(node.attrs, ins[node.name], shapes[node.name]) for node in graph.nodes)
    head, head_params = _lm_head(graph, report, shapes, attentions)
    quadratic = sum(term.flops for _, g in attentions for term in g.terms() if term.quadratic) * batch
    decode_macs, decode_flops, decode_attention, note = _decode_step(graph, report, attentions, context)
    kv_elements = sum(g.kv_cache_elements_per_token() for _, g in attentions)
    width = sum(g.heads * g.head_dim for _, g in attentions)
    training = report.training if report.training is not None else training_costs(graph, report)
    forward, backward = report.totals.flops // batch, training.backward_flops // batch
    n = report.totals.params - embedding - head_params
    kv_bytes = kv_elements * DTYPE_BYTES[report.dtype]
    heads = sorted({(g.heads, g.kv_heads, g.head_dim) for _, g in attentions})
    return LLMFigures(
        context=context, batch=batch, dtype=report.dtype, attention_layers=len(attentions), attention_width=width,
        heads=[list(h) for h in heads], params=report.totals.params, embedding_params=embedding, lm_head=head,
        lm_head_params=head_params, prefill_macs=report.totals.macs, prefill_flops=report.totals.flops,
        prefill_quadratic_flops=quadratic, decode_macs=None if note else decode_macs,
        decode_flops=None if note else decode_flops, decode_attention_flops=None if note else decode_attention,
        decode_note=note, kv_elements_per_token=kv_elements, kv_bytes_per_token=kv_bytes,
        kv_cache_bytes=kv_bytes * context * batch, forward_flops_per_sequence=forward,
        training_flops_per_sequence=forward + backward,
        forward_rules=_rules(forward, context, 2, n, report.totals.params, width),
        training_rules=_rules(forward + backward, context, 6, n, report.totals.params, width), tokens=tokens,
    )  # fmt: skip
