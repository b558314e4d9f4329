"""MViT's pooling attention (Fan et al. 2021, Li et al. 2022), as torchvision's MultiscaleAttention builds it
(torchvision/models/video/mvit.py; mvit_v1_b, and mvit_v2_s with `rel_pos` and `residual_pool`).

multiscale_attention, on tokens [N, E] that are a class token and a T×H×W grid (N = 1 + T·H·W; `thw`
names the grid, which the model carries beside the tensor). With H heads of D = C / H (C = `out_dim`):
    qkv          a linear E -> 3C (with bias) on every token, split into q, k, v of [H, N, D]
    pooling      q (kernel_q, stride_q) and k, v (kernel_kv, stride_kv), each when its kernel or stride is
                 not all 1s: the grid tokens of each head pooled by a depthwise Conv3d on D channels
                 (no bias, padding k // 2, grid out g_a = ⌊(n_a + 2⌊k_a/2⌋ − k_a) / s_a⌋ + 1 per axis),
                 the class token put back in front, then a LayerNorm over D (eps `norm_eps`).
                 L = 1 + |g_q| queries, S = 1 + |g_kv| keys and values
    attention    q scaled by 1/√D, QKᵀ, [rel_pos] MViTv2's decomposed relative positions, softmax, A·V,
                 [residual_pool] the pooled q added to the output (the class token too with
                 `residual_with_cls`), then a linear C -> C (with bias). Output [L, C]
    rel_pos      per axis a table of (2·max(q_a, k_a) − 1) rows of D; the grid queries L' = |g_q| are
                 multiplied with the gathered rows: q·R_h (H·L'·k_h·D MACs, an einsum), q·R_w (H·L'·k_w·D,
                 an einsum), q·R_t (H·L'·k_t·D, a matmul), combined by broadcasting (H·L'·k_h·k_w +
                 H·L'·k_t·k_h·k_w adds) and added to the grid scores (H·L'·S' adds, S' = |g_kv|). Gathering
                 the rows from the tables is bookkeeping that does not depend on the batch: not counted.
                 A table of another size (`rel_pos_rows`: torchvision sizes both spatial tables for the
                 larger axis, so a non-square grid has one) is first resized to the rows needed by linear
                 interpolation, which does not depend on the batch either: not counted.

    params       E·3C + 3C + C·C + C, + per pooling D·k_t·k_h·k_w + 2D, + [rel_pos] D·Σ_a rows_a (by default
                 rows_a = 2·max(q_a, k_a) − 1)
    macs         the qkv and output projections, the pooling convolutions, QKᵀ (H·L·S·D), A·V (H·L·S·D) and
                 the three relative-position products: all matrix products or convolutions
    flops        per term in `terms` below: a product of n MACs per output costs 2n − 1 per output (+1 with
                 a bias), a LayerNorm 7 per element, the scaling H·L·D, softmax H·L·(3S − 1), each add one
                 per element
    connections  the linear links (n_in + bias per output), k per pooled output, 2D per score, 2S per A·V
                 output, 2D per relative-position product output
    memory       the score matrix, H·L·S elements

Receptive field: attention mixes every position (None). Training: about the forward cost.
"""

from __future__ import annotations

from dataclasses import dataclass

from archcalc.errors import ArchcalcError
from archcalc.layers.attention_cost import CostTerm, term_formulas
from archcalc.layers.attrs import Attr, Bool, Float, Int, Sizes
from archcalc.layers.base import Attrs, LayerType, Params, Shape, numel, register
from archcalc.layers.formula import Formula, Group, Term, counts, product
from archcalc.layers.imports import CannotMap, ImportRule

TORCHVISION = "torchvision.models.video.mvit"


def pooled_grid(grid: tuple[int, ...], kernel: tuple[int, ...], stride: tuple[int, ...]) -> tuple[int, ...]:
    """The grid after a Conv3d or MaxPool3d with padding k // 2: ⌊(n + 2⌊k/2⌋ − k) / s⌋ + 1 per axis."""
    return tuple((n + 2 * (k // 2) - k) // s + 1 for n, k, s in zip(grid, kernel, stride))


def pools(kernel: tuple[int, ...], stride: tuple[int, ...]) -> bool:
    """torchvision pools q (or k and v) only when the kernel or the stride is more than one element."""
    return numel(kernel) > 1 or numel(stride) > 1


@dataclass(frozen=True)
class MultiscaleGeometry:
    tokens: int  # N
    embed: int  # E
    out_dim: int  # C
    heads: int  # H
    grid: tuple[int, int, int]
    q_grid: tuple[int, int, int]
    kv_grid: tuple[int, int, int]
    kernel_q: tuple[int, int, int] | None  # None: q is not pooled
    kernel_kv: tuple[int, int, int] | None
    rel_pos: bool
    residual_pool: bool
    residual_with_cls: bool
    rel_pos_rows: tuple[int, int, int] | None = None  # None: the rows the grids need

    @property
    def head_dim(self) -> int:
        return self.out_dim // self.heads

    @property
    def queries(self) -> int:
        return 1 + numel(self.q_grid)

    @property
    def keys(self) -> int:
        return 1 + numel(self.kv_grid)

    @property
    def score_elements(self) -> int:
        return self.heads * self.queries * self.keys

    def needed(self) -> tuple[int, int, int]:
        """Rows of the t, h and w relative offsets: 2·max(q_a, k_a) − 1."""
        return tuple(2 * max(q, k) - 1 for q, k in zip(self.q_grid, self.kv_grid))  # type: ignore[return-value]

    def tables(self) -> tuple[int, int, int]:
        """Rows of the t, h and w relative-position tables (interpolated to `needed` where they differ)."""
        return self.rel_pos_rows or self.needed()

    def pool_params(self, kernel: tuple[int, ...] | None) -> int:
        return 0 if kernel is None else self.head_dim * numel(kernel) + 2 * self.head_dim

    def params(self) -> int:
        E, C, D = self.embed, self.out_dim, self.head_dim
        rel = D * sum(self.tables()) if self.rel_pos else 0
        return E * 3 * C + 3 * C + C * C + C + self.pool_params(self.kernel_q) + 2 * self.pool_params(self.kernel_kv) + rel

    def terms(self) -> list[CostTerm]:
        N, E, C, H, D, L, S = (self.tokens, self.embed, self.out_dim, self.heads, self.head_dim, self.queries,
                               self.keys)  # fmt: skip
        tN, tE, tC, tH, tD, tL, tS = (Term("N", N), Term("E", E), Term("C", C), Term("H", H), Term("D", D),
                                      Term("L", L), Term("S", S))  # fmt: skip
        terms = [CostTerm("qkv", N * E * 3 * C, N * 3 * C * 2 * E, tN * 3 * tC * Group(2 * tE - 1 + 1),
                          macs_formula=tN * tE * 3 * tC)]  # fmt: skip
        for name, kernel, grid, rows, t_rows in (("pool_q", self.kernel_q, self.q_grid, L, tL),
                                                 ("pool_k", self.kernel_kv, self.kv_grid, S, tS),
                                                 ("pool_v", self.kernel_kv, self.kv_grid, S, tS)):  # fmt: skip
            if kernel is None:
                continue
            k, g = numel(kernel), numel(grid)
            tk, tg = Term("k", k), Term(f"|g_{name[-1]}|", g)
            terms.append(CostTerm(name, H * D * g * k, H * D * g * (2 * k - 1), tH * tD * tg * Group(2 * tk - 1),
                                  macs_formula=tH * tD * tg * tk))  # fmt: skip
            terms.append(CostTerm(f"{name}_norm", 0, 7 * H * rows * D, 7 * tH * t_rows * tD))
        terms.append(CostTerm("scale", 0, H * L * D, tH * tL * tD))
        terms.append(CostTerm("scores", H * L * S * D, H * L * S * (2 * D - 1), tH * tL * tS * Group(2 * tD - 1),
                              True, tH * tL * tS * tD))  # fmt: skip
        if self.rel_pos:
            Lg, (kt, kh, kw) = numel(self.q_grid), self.kv_grid
            tLg, tkt, tkh, tkw = Term("L'", Lg), Term("k_t", kt), Term("k_h", kh), Term("k_w", kw)
            for name, k, tk in (("rel_h", kh, tkh), ("rel_w", kw, tkw), ("rel_t", kt, tkt)):
                terms.append(CostTerm(name, H * Lg * k * D, H * Lg * k * (2 * D - 1), tH * tLg * tk * Group(2 * tD - 1),
                                      True, tH * tLg * tk * tD))  # fmt: skip
            terms.append(CostTerm("rel_combine", 0, H * Lg * kh * kw * (1 + kt), tH * tLg * tkh * tkw * Group(1 + tkt),
                                  True))  # fmt: skip
            terms.append(CostTerm("rel_add", 0, H * Lg * numel(self.kv_grid), tH * tLg * Term("S'", S - 1), True))
        terms.append(CostTerm("softmax", 0, H * L * (3 * S - 1), tH * tL * Group(3 * tS - 1), True))
        terms.append(CostTerm("A·V", H * L * S * D, H * L * D * (2 * S - 1), tH * tL * tD * Group(2 * tS - 1), True,
                              tH * tL * tS * tD))  # fmt: skip
        if self.residual_pool:
            rows, t_rows = (L, tL) if self.residual_with_cls else (L - 1, Group(tL - 1))
            terms.append(CostTerm("residual", 0, H * rows * D, tH * t_rows * tD))
        terms.append(CostTerm("proj", L * C * C, L * C * 2 * C, tL * tC * Group(2 * tC - 1 + 1),
                              macs_formula=tL * tC * tC))  # fmt: skip
        return terms

    def connections(self) -> int:
        N, E, C, H, D, L, S = self.tokens, self.embed, self.out_dim, self.heads, self.head_dim, self.queries, self.keys
        links = N * 3 * C * (E + 1) + L * C * (C + 1) + H * L * S * 2 * D + H * L * D * 2 * S
        for kernel, grid in ((self.kernel_q, self.q_grid), (self.kernel_kv, self.kv_grid), (self.kernel_kv, self.kv_grid)):
            links += 0 if kernel is None else H * D * numel(grid) * numel(kernel)
        if self.rel_pos:
            links += H * numel(self.q_grid) * sum(self.kv_grid) * 2 * D
        return links


@register
class MultiscaleAttention(LayerType):
    name = "multiscale_attention"
    summary = "MViT's pooling attention on a class token + T×H×W grid of tokens (torchvision's mvit_v1_b, mvit_v2_s)"
    category = "linear"
    dense_macs = True
    fvcore_exact = False  # fvcore rounds the relative-position einsums' count (layers/tensor_algebra.py)
    flops_rule = "Σ of the terms: projections, pooling convs and norms, scaling, QKᵀ, rel-pos, softmax, A·V, residual"
    connections_rule = "linear links + k per pooled output + 2D per score + 2S per A·V output + 2D per rel-pos output"
    attrs = (
        Attr("num_heads", Int(), doc="heads H", aliases=("heads",)),
        Attr("thw", Sizes(3), doc="the token grid [T, H, W] after the class token"),
        Attr("out_dim", Int(), None, "features C of q, k, v and the output; default E"),
        Attr("kernel_q", Sizes(3), 1, "pooling kernel of the queries"),
        Attr("stride_q", Sizes(3), 1, "pooling stride of the queries"),
        Attr("kernel_kv", Sizes(3), 1, "pooling kernel of the keys and values"),
        Attr("stride_kv", Sizes(3), 1, "pooling stride of the keys and values"),
        Attr("rel_pos", Bool(), False, "MViTv2's decomposed relative-position terms"),
        Attr("rel_pos_rows", Sizes(3), None, "rows of the t, h, w tables; default 2·max(q_a, k_a) − 1 (others are "
                                             "interpolated to that)"),
        Attr("residual_pool", Bool(), False, "MViTv2's pooled-query residual"),
        Attr("residual_with_cls", Bool(), False, "the residual adds the class token's query too"),
        Attr("norm_eps", Float(0.0), 1e-6, "eps of the pooling LayerNorms; changes no count"),
    )

    def validate(self, a: Attrs) -> None:
        if a["rel_pos_rows"] and not a["rel_pos"]:
            raise ArchcalcError("multiscale_attention: rel_pos_rows needs rel_pos: true")

    def geometry(self, a: Attrs, ins: list[Shape]) -> MultiscaleGeometry:
        shape, grid = ins[0], tuple(a["thw"])
        if len(shape) != 2:
            raise ArchcalcError(f"multiscale_attention needs [N, E] tokens, got shape {list(shape)}")
        if shape[0] != 1 + numel(grid):
            raise ArchcalcError(f"multiscale_attention: {shape[0]} tokens are not a class token and the "
                                f"{'x'.join(map(str, grid))} grid ({1 + numel(grid)})")  # fmt: skip
        C, heads = a["out_dim"] or shape[1], a["num_heads"]
        if C % heads:
            raise ArchcalcError(f"multiscale_attention: {C} features do not split into {heads} heads")
        pool_q = pools(a["kernel_q"], a["stride_q"])
        pool_kv = pools(a["kernel_kv"], a["stride_kv"])
        q_grid = pooled_grid(grid, a["kernel_q"], a["stride_q"]) if pool_q else grid
        kv_grid = pooled_grid(grid, a["kernel_kv"], a["stride_kv"]) if pool_kv else grid
        if min(q_grid + kv_grid) < 1:
            raise ArchcalcError(f"multiscale_attention: pooling leaves an empty grid ({list(q_grid)}, {list(kv_grid)})")
        return MultiscaleGeometry(shape[0], shape[1], C, heads, grid, q_grid, kv_grid,  # type: ignore[arg-type]
                                  tuple(a["kernel_q"]) if pool_q else None, tuple(a["kernel_kv"]) if pool_kv else None,
                                  a["rel_pos"], a["residual_pool"], a["residual_with_cls"],
                                  tuple(a["rel_pos_rows"]) if a["rel_pos"] and a["rel_pos_rows"] else None)  # fmt: skip

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        g = self.geometry(a, ins)
        return (g.queries, g.out_dim)

    def params(self, a: Attrs, ins: list[Shape], out: Shape) -> Params:
        return Params(trainable=self.geometry(a, ins).params())

    def embedding_params(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        """The relative-position tables are position embeddings: D·Σ_a rows_a."""
        g = self.geometry(a, ins)
        return g.head_dim * sum(g.tables()) if g.rel_pos else 0

    def macs(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return sum(t.macs for t in self.geometry(a, ins).terms())

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return sum(t.flops for t in self.geometry(a, ins).terms())

    def connections(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return self.geometry(a, ins).connections()

    def workspace(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return self.geometry(a, ins).score_elements

    def receptive_field(self, a: Attrs, ins: list[Shape], out: Shape) -> None:
        return None

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        g = self.geometry(a, ins)
        grid = product([Term(f"{axis}_q", size) for axis, size in zip("thw", g.q_grid)])
        return [Formula("L_out", 1 + grid, "the class token and the pooled grid"),
                Formula("C_out", Term("C", g.out_dim))]  # fmt: skip

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        g = self.geometry(a, ins)
        defs, macs, flops = term_formulas(g.terms())
        E, C, D = Term("E", g.embed), Term("C", g.out_dim), Term("D", g.head_dim)
        params = E * 3 * C + 3 * C + C * C + C
        for kernel, times in ((g.kernel_q, 1), (g.kernel_kv, 2)):
            if kernel is not None:
                pool = D * Term("k", numel(kernel)) + 2 * D
                params = params + (times * Group(pool) if times > 1 else pool)
        if g.rel_pos:
            params = params + D * Term("rows", sum(g.tables()))
        return counts(params=params, macs=macs, flops=flops, connections=g.connections(),
                      defs=defs, notes={"MACs": "the projections, pooling convolutions and matrix products"})

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc import torch_mvit

        rows = self.geometry(a, ins).tables() if a["rel_pos"] else ()
        return torch_mvit.MultiscaleAttention(ins[0][1], a["out_dim"] or ins[0][1], a["num_heads"], tuple(a["thw"]),
                                              tuple(a["kernel_q"]), tuple(a["stride_q"]), tuple(a["kernel_kv"]),
                                              tuple(a["stride_kv"]), a["residual_pool"], a["residual_with_cls"],
                                              a["rel_pos"], a["norm_eps"], rows)  # fmt: skip

    def torch_import(self) -> tuple:
        from archcalc import torch_mvit

        return (ImportRule(self.name, modules=(torch_mvit.MultiscaleAttention,), read=_read_archcalc),
                ImportRule(self.name, foreign=(f"{TORCHVISION}.MultiscaleAttention",), read=read_torchvision,
                           note="thw: the grid the model passes beside the tokens"))


def _read_archcalc(call) -> dict:
    m = call.module
    return _with_rows({"num_heads": m.num_heads, "thw": list(m.thw), "out_dim": m.output_dim, "kernel_q": list(m.kernel_q),
            "stride_q": list(m.stride_q), "kernel_kv": list(m.kernel_kv), "stride_kv": list(m.stride_kv),
            "rel_pos": m.rel_pos_h is not None, "residual_pool": m.residual_pool,
            "residual_with_cls": m.residual_with_cls_embed, "norm_eps": m.norm_eps}, m)  # fmt: skip


def _with_rows(attrs: dict, m) -> dict:
    """`rel_pos_rows` when the module's t, h and w tables are not the sizes its grids need (else the default)."""
    if m.rel_pos_h is not None:
        grid = tuple(attrs["thw"])
        q = pooled_grid(grid, attrs["kernel_q"], attrs["stride_q"]) if pools(attrs["kernel_q"], attrs["stride_q"]) else grid
        kv = pooled_grid(grid, attrs["kernel_kv"], attrs["stride_kv"]) \
            if pools(attrs["kernel_kv"], attrs["stride_kv"]) else grid  # fmt: skip
        rows = [m.rel_pos_t.shape[0], m.rel_pos_h.shape[0], m.rel_pos_w.shape[0]]
        if rows != [2 * max(a, b) - 1 for a, b in zip(q, kv)]:
            attrs["rel_pos_rows"] = rows
    return attrs


def _pool_setting(pool, name: str) -> tuple[list[int], list[int], float | None]:
    """(kernel, stride, LayerNorm eps) of one of torchvision's Pool(Conv3d, LayerNorm) modules."""
    from torch import nn

    if pool is None:
        return [1, 1, 1], [1, 1, 1], None
    conv, norm = pool.pool, pool.norm_act
    if not isinstance(conv, nn.Conv3d) or conv.bias is not None or conv.groups != conv.in_channels \
            or conv.out_channels != conv.in_channels or list(conv.padding) != [k // 2 for k in conv.kernel_size] \
            or list(conv.dilation) != [1, 1, 1] or pool.norm_before_pool:  # fmt: skip
        raise CannotMap(f"{name} is not a depthwise Conv3d (no bias, padding k // 2) followed by a norm")
    if norm is None or len(norm) != 1 or type(norm[0]) is not nn.LayerNorm or not norm[0].elementwise_affine \
            or norm[0].bias is None:  # fmt: skip
        raise CannotMap(f"{name}'s norm is not one affine LayerNorm")
    return list(conv.kernel_size), list(conv.stride), norm[0].eps


def read_torchvision(call) -> dict:
    """torchvision's MultiscaleAttention(x, thw): its settings from the module, the grid from the call."""
    from torch import nn

    m = call.module
    thw = call.args[1] if len(call.args) > 1 else call.kwargs.get("thw")
    if not isinstance(thw, (tuple, list)) or len(thw) != 3:
        raise CannotMap(f"the grid thw is not three sizes ({thw!r})")
    kernel_q, stride_q, eps_q = _pool_setting(m.pool_q, "pool_q")
    kernel_kv, stride_kv, eps_k = _pool_setting(m.pool_k, "pool_k")
    if _pool_setting(m.pool_v, "pool_v")[:2] != (kernel_kv, stride_kv):
        raise CannotMap("pool_k and pool_v differ")
    if m.qkv.bias is None or not isinstance(m.project[0], nn.Linear) or m.project[0].bias is None \
            or m.qkv.out_features != 3 * m.output_dim:  # fmt: skip
        raise CannotMap("its qkv or output projection has no bias")
    attrs = {"num_heads": m.num_heads, "thw": [int(size) for size in thw], "out_dim": m.output_dim,
             "kernel_q": kernel_q, "stride_q": stride_q, "kernel_kv": kernel_kv, "stride_kv": stride_kv,
             "rel_pos": m.rel_pos_h is not None, "residual_pool": m.residual_pool,
             "residual_with_cls": m.residual_with_cls_embed,
             "norm_eps": eps_q if eps_q is not None else eps_k}  # fmt: skip
    return _with_rows(attrs, m)
