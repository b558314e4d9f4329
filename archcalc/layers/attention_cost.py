"""The cost of attention, term by term: one place for multi_head_attention, scaled_dot_product_attention
and window_attention (their rules, `explain`, the conventions and the LLM arithmetic all read it).

An attention of H query heads over L queries and S keys/values, with Hkv key/value heads (GQA: Hkv < H;
MQA: Hkv = 1), query/key head size D, value head size Dv, b = 1 with a projection bias:

    term        MACs            FLOPs                              grows with
    q_proj      L·E·H·D         L·H·D·(2E − 1 + b)                 L
    k_proj      S·Ek·Hkv·D      S·Hkv·D·(2Ek − 1 + b_k)            S   (1 token per step with a KV cache;
                                                                   b_k = b unless `k_bias` says otherwise)
    v_proj      S·Ev·Hkv·Dv     S·Hkv·Dv·(2Ev − 1 + b)             S
    rope        -               3·r·(H·(L − p) + Hkv·(S − p))      L, S (r rotated features per head;
                                (x·cos + rot(x)·sin: 2 products      p leading tokens left unrotated, timm's
                                and a sum; rot's sign flips are      class and register tokens)
                                not counted)
    scale       -               H·L·D  (the queries are scaled by 1/√D, as torch's MultiheadAttention,
                                        torchvision's Swin and most code do; scaling the scores would
                                        cost H·L·S)
    scores      H·L·S·D         H·L·S·(2D − 1)                     L·S (quadratic)
    bias        -               H·L·S  (a relative-position bias or Swin's shift mask, one add per score)
    Swin V2 (cosine attention, continuous position bias; windows·… per window, the bias once per forward):
    position    T·h·(r + H)     T·h·2r + T·h + T·H·(2h − 1) (the MLP over T offsets: r → h → H) + 5·H·L·S
                                (16·sigmoid of the gathered bias)
    normalize   -               3·D·(H·L + Hkv·S) in place of `scale` (square, add, divide per element)
    logit_scale -               H·L·S + 2H (one multiply per score; clamp and exp per head)
    mask        -               H·L·S  (causal: one add per score; the full score matrix is computed, as
                                        torch computes it)
    softmax     -               H·L·(3S − 1)  (per row: S exp, S − 1 adds, S divides)
    A·V         H·L·S·Dv        H·L·Dv·(2S − 1)                    L·S (quadratic)
    out_proj    L·H·Dv·E        L·E·(2·H·Dv − 1 + b)               L

The MACs are all matrix products (`dense_macs`), which torch's FlopCounterMode counts (2 per MAC).
Memory: the score matrix, H·L·S elements, is activation memory besides the output; a flash-style kernel
never materialises it. A KV cache keeps Hkv·(D + Dv) elements per token per attention layer.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from archcalc.layers.formula import Expr, Formula, Group, Term


@dataclass(frozen=True)
class CostTerm:
    """One step of an attention: its MACs and FLOPs per sample, and the FLOPs as a formula."""

    name: str
    macs: int
    flops: int
    formula: Expr  # the FLOPs
    quadratic: bool = False  # grows with L·S (the score matrix), not linearly with the tokens
    macs_formula: Expr | None = None  # the MACs (matrix products only)


def term_formulas(terms: list[CostTerm]) -> tuple[list[Formula], Expr, Expr]:
    """One definition per term (`MACs[scores]`, `FLOPs[softmax]`), and the MACs and FLOPs as their sums."""
    defs = [Formula(f"MACs[{t.name}]", t.macs_formula) for t in terms if t.macs_formula is not None]
    defs += [Formula(f"FLOPs[{t.name}]", t.formula) for t in terms]

    def total(prefix: str) -> Expr:
        named = [Term(f.name, f.value) for f in defs if f.name.startswith(prefix)]
        expr: Expr = named[0]
        for item in named[1:]:
            expr = expr + item
        return expr

    return defs, total("MACs["), total("FLOPs[")


@dataclass(frozen=True)
class AttentionGeometry:
    """The sizes an attention's costs depend on (public: the LLM arithmetic reads them).

    `projected_kv` is how many key/value tokens go through the K and V projections: S for a full pass,
    1 for a decoding step whose earlier keys and values come from a KV cache. Projections are None for the
    functional scaled_dot_product_attention (its inputs are already projected)."""

    queries: int  # L
    keys: int  # S
    heads: int  # H
    kv_heads: int  # Hkv
    head_dim: int  # D
    value_dim: int  # Dv
    embed_dim: int | None = None  # E: query features in, and out of the output projection
    kdim: int | None = None  # Ek
    vdim: int | None = None  # Ev
    bias: bool = False
    out_bias: bool = False
    key_bias: bool | None = None  # the key projection adds a bias (a zero buffer counts: torch adds it); None: `bias`
    rotary_dims: int = 0
    rope_prefix: int = 0  # leading tokens RoPE leaves alone (timm: class and register tokens)
    biased_scores: bool = False  # a relative-position bias (or Swin's shift mask) added to every score
    masked: bool = False  # a mask added to every score: causal, or Swin's shift mask
    causal: bool = False  # each query sees only itself and earlier keys (a decoder's self-attention)
    windows: int = 1  # Swin: independent windows, each L = S = its tokens
    projected_kv: int | None = None
    cosine: bool = False  # Swin V2: cosine similarity of normalised q and k, times a learned scale per head
    # Swin V2's continuous position bias: (coordinates r, hidden width h, table rows T) of the MLP that makes
    # the bias table, run once per forward (not per window), then 16·sigmoid of the gathered [H, L, S] bias
    position_mlp: tuple[int, int, int] | None = None

    @property
    def score_elements(self) -> int:
        """H·L·S per window, times the windows: the score matrix (activation memory unless flash)."""
        return self.windows * self.heads * self.queries * self.keys

    def kv_cache_elements_per_token(self) -> int:
        """Keys and values one token leaves in a KV cache: Hkv·(D + Dv)."""
        return self.kv_heads * (self.head_dim + self.value_dim)

    def decoding(self, context: int) -> "AttentionGeometry":
        """One new token attending to `context` tokens (itself included) with a KV cache: the K and V
        projections run on the new token only, and no mask is needed (the newest token sees every key)."""
        return replace(self, queries=1, keys=context, projected_kv=1, windows=1, masked=False)

    def terms(self) -> list[CostTerm]:
        L, S, H, Hk, D, Dv, W = (self.queries, self.keys, self.heads, self.kv_heads, self.head_dim, self.value_dim,
                                 self.windows)  # fmt: skip
        tL, tS, tH, tHk, tD, tDv = (Term("L", L), Term("S", S), Term("H", H), Term("H_kv", Hk), Term("D", D),
                                    Term("D_v", Dv))  # fmt: skip
        win = Term("windows", W) if W > 1 else None
        terms: list[CostTerm] = []

        def per_window(expr: Expr) -> Expr:
            return win * expr if win is not None else expr

        if self.position_mlp is not None:
            terms += self._position_terms()
        if self.embed_dim is not None:
            E, b = self.embed_dim, int(self.bias)
            bk = b if self.key_bias is None else int(self.key_bias)
            Ek, Ev = self.kdim or E, self.vdim or E
            P = S if self.projected_kv is None else self.projected_kv
            tP = Term("S", S) if self.projected_kv is None else Term("new", P)
            tE = Term("E", E)
            tEk, tEv = (Term("E_k", Ek) if Ek != E else tE), (Term("E_v", Ev) if Ev != E else tE)

            def linear(rows: int, n_in: int, n_out: int, bias: int, t_rows, t_in, t_out) -> CostTerm:
                fan = Group(2 * t_in - 1 + 1) if bias else Group(2 * t_in - 1)
                return CostTerm("", W * rows * n_in * n_out, W * rows * n_out * (2 * n_in - 1 + bias),
                                per_window(t_rows * t_out * fan), macs_formula=per_window(t_rows * t_in * t_out))

            terms += [replace(linear(L, E, H * D, b, tL, tE, tH * tD), name="q_proj"),
                      replace(linear(P, Ek, Hk * D, bk, tP, tEk, tHk * tD), name="k_proj"),
                      replace(linear(P, Ev, Hk * Dv, b, tP, tEv, tHk * tDv), name="v_proj")]  # fmt: skip
        if self.rotary_dims:
            r, p = self.rotary_dims, self.rope_prefix
            P = S - p if self.projected_kv is None else self.projected_kv  # keys rotated now (a cache holds the rest)
            Lr, Pr = max(L - p, 0), max(P, 0)
            tLr = Group(tL - Term("p", p)) if p else tL
            tPr = (Group(tS - Term("p", p)) if p else tS) if self.projected_kv is None else Term("new", P)
            terms.append(CostTerm("rope", 0, W * 3 * r * (H * Lr + Hk * Pr), per_window(3 * Term("r", r) *
                                                                                         Group(tH * tLr + tHk * tPr))))
        if self.cosine:
            terms.append(CostTerm("normalize", 0, W * 3 * D * (H * L + Hk * S),
                                  per_window(3 * tD * Group(tH * tL + tHk * tS))))
        else:
            terms.append(CostTerm("scale", 0, W * H * L * D, per_window(tH * tL * tD)))
        terms.append(CostTerm("scores", W * H * L * S * D, W * H * L * S * (2 * D - 1),
                              per_window(tH * tL * tS * Group(2 * tD - 1)), True, per_window(tH * tL * tS * tD)))
        if self.cosine:
            terms.append(CostTerm("logit_scale", 0, W * H * L * S + 2 * H, per_window(tH * tL * tS) + 2 * tH, True))
        if self.biased_scores:
            terms.append(CostTerm("bias", 0, W * H * L * S, per_window(tH * tL * tS), True))
        if self.masked:
            terms.append(CostTerm("mask", 0, W * H * L * S, per_window(tH * tL * tS), True))
        terms.append(CostTerm("softmax", 0, W * H * L * (3 * S - 1), per_window(tH * tL * Group(3 * tS - 1)), True))
        terms.append(CostTerm("A·V", W * H * L * S * Dv, W * H * L * Dv * (2 * S - 1),
                              per_window(tH * tL * tDv * Group(2 * tS - 1)), True, per_window(tH * tL * tS * tDv)))
        if self.embed_dim is not None:
            E, bo = self.embed_dim, int(self.out_bias)
            fan = Group(2 * tH * tDv - 1 + 1) if bo else Group(2 * tH * tDv - 1)
            terms.append(CostTerm("out_proj", W * L * H * Dv * E, W * L * E * (2 * H * Dv - 1 + bo),
                                  per_window(tL * Term("E", E) * fan),
                                  macs_formula=per_window(tL * tH * tDv * Term("E", E))))
        return terms

    def _position_terms(self) -> list[CostTerm]:
        """Swin V2's bias, once per forward: the MLP over the T offsets (Linear(r, h) with bias, ReLU,
        Linear(h, H) without), then 16·sigmoid (4 + 1 per element) of the gathered [H, L, S] bias."""
        r, h, rows = self.position_mlp  # type: ignore[misc]
        H, L, S = self.heads, self.queries, self.keys
        tr, th, tT, tH = Term("r", r), Term("h", h), Term("T", rows), Term("H", H)
        mlp = CostTerm("position_mlp", rows * h * (r + H), rows * h * 2 * r + rows * h + rows * H * (2 * h - 1),
                       tT * th * Group(2 * tr) + tT * th + tT * tH * Group(2 * th - 1),
                       macs_formula=tT * th * Group(tr + tH))
        return [mlp, CostTerm("position_bias", 0, 5 * H * L * S, 5 * tH * Term("L", L) * Term("S", S))]

    @property
    def macs(self) -> int:
        return sum(term.macs for term in self.terms())

    @property
    def flops(self) -> int:
        return sum(term.flops for term in self.terms())

    @property
    def product_macs(self) -> int:
        """MACs of the two activation-by-activation products (QKᵀ and A·V): no weights involved."""
        return sum(term.macs for term in self.terms() if term.quadratic)
