"""A relative-position bias table computed by an MLP (relative_position_bias / relative_position_attention with
`mlp`): timm's RelPosMlp (vit_relpos_*) runs Linear(r, h), ReLU, Linear(h, H) on a constant buffer of T = (2w−1)²
log-spaced coordinates [*, r] on every call, and gathers the [T, H] result (the layer's `table`) with the index.

    params       r·h + b₁·h + h·H + b₂·H (the linears; b₁, b₂ = `mlp_bias`)
    buffers      T·r (the coordinates) + Π index (none without an index: Swin V2-CR adds the MLP's [T, H] output
                 itself, transposed and reshaped to [1, H, N, N], T = N²)
    macs         T·h·(r + H)
    flops        T·h·(2r − 1 + b₁) + T·h (ReLU) + T·H·(2h − 1 + b₂) [+ (4 + 1)·Π bias: g·sigmoid, `mlp_gain`
                 (Swin V2's 16·sigmoid of the gathered bias); fvcore skips aten::sigmoid and aten::mul,
                 FlopCounterMode registers neither]
    connections  T·h·(r + b₁) + T·H·(h + b₂)
These are work done once per call, whatever the batch (`per_call`): a batch of B runs the MLP once, as torch
does. fvcore counts aten::linear's MACs (T·h·(r + H)), FlopCounterMode twice that: the MLP runs on [*, T', r]
whatever the batch, so both count it once per call too. The table is computed, not looked up: no embedding
parameters.
"""

from __future__ import annotations

from archcalc.errors import ArchcalcError
from archcalc.layers.attrs import Attr, Int, IntList
from archcalc.layers.base import Attrs, numel
from archcalc.layers.formula import Expr, Group, Term, product

ATTRS = (
    Attr("mlp", IntList(), None, "[r, h]: the table is Linear(r, h), ReLU, Linear(h, H) of a [T, r] coordinate "
                                 "buffer (timm's RelPosMlp); default: the table is a parameter"),
    Attr("mlp_bias", IntList(0), [1, 1], "whether each of the MLP's two linears has a bias (1) or not (0)"),
    Attr("mlp_gain", Int(1), None, "g: the bias is g·sigmoid(the gathered MLP output) (Swin V2: 16); default "
                                   "neither"),
)


def check(layer: str, a: Attrs) -> None:
    if a["mlp"] is None:
        if a["mlp_gain"] is not None:
            raise ArchcalcError(f"{layer}: mlp_gain needs an mlp table")
        return
    if len(a["mlp"]) != 2 or min(a["mlp"]) < 1 or len(a["mlp_bias"]) != 2 or set(a["mlp_bias"]) - {0, 1}:
        raise ArchcalcError(f"{layer}: mlp must be [r, h] (positive) and mlp_bias two 0/1 flags, got "
                            f"{list(a['mlp'])} and {list(a['mlp_bias'])}")  # fmt: skip
    if len(a["table"]) != 2 or a["axis"] != 0 or a["head"] is not None or a["mlp_gain"] is not None and a["mlp"] is None:
        raise ArchcalcError(f"{layer}: an MLP table is [T, heads] indexed along axis 0, got {list(a['table'])} "
                            f"along axis {a['axis']}")  # fmt: skip


def sizes(a: Attrs) -> tuple[int, int, int, int, int, int]:
    (r, h), (b1, b2), (rows, heads) = a["mlp"], a["mlp_bias"], a["table"]
    return r, h, rows, heads, b1, b2


def params(a: Attrs) -> tuple[int, int]:
    """(trainable, buffers) of the table: the MLP's, or the parameter table's."""
    index = numel(a["index"]) if a["index"] is not None else 0
    if a["mlp"] is None:
        return numel(a["table"]), index
    r, h, rows, heads, b1, b2 = sizes(a)
    return r * h + b1 * h + h * heads + b2 * heads, rows * r + index


def cost(a: Attrs) -> tuple[int, int, int]:
    """(MACs, FLOPs, connections) of the MLP, once per call; zero without one."""
    if a["mlp"] is None:
        return 0, 0, 0
    r, h, rows, heads, b1, b2 = sizes(a)
    return (rows * h * (r + heads), rows * h * (2 * r - 1 + b1) + rows * h + rows * heads * (2 * h - 1 + b2)
            + squash(a), rows * h * (r + b1) + rows * heads * (h + b2))  # fmt: skip


def squash(a: Attrs) -> int:
    """g·sigmoid over the gathered bias: 4 FLOPs per element for the sigmoid, 1 for the gain (g ≠ 1)."""
    if a["mlp_gain"] is None:
        return 0
    return (4 + int(a["mlp_gain"] != 1)) * numel(a["bias"])


def squash_term(a: Attrs) -> Expr | int:
    if a["mlp_gain"] is None:
        return 0
    bias = Group(product([Term(f"b_{axis}", size) for axis, size in enumerate(a["bias"])]))
    return (5 if a["mlp_gain"] != 1 else 4) * bias


def terms(a: Attrs) -> dict[str, Expr | int]:
    """The formulas behind params() and cost()."""
    index = product([Term(f"i_{axis}", size) for axis, size in enumerate(a["index"])]) if a["index"] else 0
    if a["mlp"] is None:
        table = product([Term(f"t_{axis}", size) for axis, size in enumerate(a["table"])])
        return {"params": table, "buffers": index, "macs": 0, "flops": 0, "connections": 0}
    r, h, rows, heads, b1, b2 = sizes(a)
    tr, th, tT, tH = Term("r", r), Term("h", h), Term("T", rows), Term("H", heads)
    first, second = (tr + 1 if b1 else tr), (th + 1 if b2 else th)  # fan-in with the bias
    params = tr * th + th if b1 else tr * th
    params = params + th * tH + tH if b2 else params + th * tH
    return {"params": params, "buffers": tT * tr + index, "macs": tT * th * Group(tr + tH),
            "flops": tT * th * Group(2 * tr - 1 + b1) + tT * th + tT * tH * Group(2 * th - 1 + b2) + squash_term(a),
            "connections": tT * th * Group(first) + tT * tH * Group(second)}  # fmt: skip
