"""resized_position_embedding: a learned position table resized to the token grid on every call, then added to
[L, E] tokens (L = Π grid) or to a channels-last map [*grid, E] (SAM2's Hiera). The table is computed from
weights alone: torch computes it once per call, for the whole batch, and adds it to every sample.

    {type: resized_position_embedding, grid: [24, 24], table: [16, 16], mode: bicubic, antialias: true}
        timm's NaFlexViT learned table [1, 16, 16, E] interpolated to the 24×24 patch grid
    {type: resized_position_embedding, grid: [24, 24], table: [16, 16], factorized: true, mode: linear}
        NaFlexViT's factorised tables ('parfac'): one [1, t_i, E] table per axis, each interpolated along its axis
        (1-D), then summed by broadcasting (pe_y[:, :, None] + pe_x[:, None])
    {type: resized_position_embedding, grid: [24, 24], table: [14, 14], mode: bicubic, antialias: true, prefix: 1}
        a timm ViT with dynamic_img_size at 384 px: the class token's row as it is, the 14×14 table resized
        (resample_abs_pos_embed), [1 + 576, E] tokens
    {type: resized_position_embedding, grid: [64, 64], table: [14, 14], mode: bicubic, antialias: true,
     window: [8, 8]}
        Hiera's abswin: the global table interpolated to the grid plus a window table tiled over it
        (grid / window times along each axis)

`mode` None: no interpolation (each table already has the grid's size); with a mode a grid table is interpolated
(F.interpolate, even to its own size, as Hiera does), and each factorised table whose length differs from the
grid's (NaFlexViT leaves a table of the right length as it is: a non-square grid may resize one axis only). Let r = rank of the grid, E = the token width, n = the
taps of one output (linear, bilinear, trilinear: 2 per interpolated axis; bicubic: 4 per axis; nearest: 0).

    params       E · Π table (factorised: E · Σ table) [+ E · Π window] [+ E · k, the prefix rows]
    flops        L·E (one add per token element) + once per call (`per_call`, whatever the batch):
                 interpolation (2n − 1)·E·L (factorised: (2n − 1)·E·g_i per resized axis, n = 2 for linear), the broadcast sum
                 of the factorised tables (r − 1)·E·L, the tiled window's add E·L
    macs         0;  connections 2·L·E (the input element and one table entry, as positional_embedding)

Antialiased interpolation is taken only where no axis shrinks (upsampling: the taps are the plain mode's);
shrinking with antialias widens the taps and is refused. Receptive field: position-wise (identity).

Peers (the table is made once per call, on a batch of one): fvcore has a handle only for
aten::upsample_bilinear2d (4 per output element) and upsample_nearest2d (1), not for the antialiased kernels,
the 1-D and 3-D ones, aten::tile or aten::add; FlopCounterMode registers none of them (0); ptflops patches
F.interpolate (output elements of each interpolated table); thop hooks no such module (0); torchinfo counts
no parameter not named weight or bias (0).
"""

from __future__ import annotations

from archcalc.errors import ArchcalcError
from archcalc.layers.attrs import Attr, Bool, Choice, Int, IntList
from archcalc.layers.base import IDENTITY, Attrs, LayerType, Params, Shape, numel, register
from archcalc.layers.embedding import kept_shape, tokens_of
from archcalc.layers.imports import CannotMap, ImportRule
from archcalc.layers.formula import Const, Expr, Formula, Term, counts, product
from archcalc.layers.resample import _PER_AXIS, _RANK

MODES = ("nearest", "linear", "bilinear", "trilinear", "bicubic")


def taps(mode: str | None, rank: int) -> int:
    """Input elements one output element is weighed from (0: nearest or no interpolation)."""
    return 0 if mode is None else _PER_AXIS[mode] ** rank


@register
class ResizedPositionEmbedding(LayerType):
    name = "resized_position_embedding"
    summary = ("a learned position table interpolated (or tiled) to the token grid on every call, added to [L, E] "
               "tokens (NaFlexViT, Hiera's abswin)")
    category = "elementwise"
    attrs = (
        Attr("grid", IntList(), doc="the token grid the table is resized to: L = Π grid"),
        Attr("table", IntList(), doc="the learned table's grid (factorised: the length of each axis's table)"),
        Attr("factorized", Bool(), False, "one 1-D table per axis, interpolated along it and summed by broadcasting"),
        Attr("mode", Choice(*MODES), None, "F.interpolate's mode; default: not interpolated (table = grid)"),
        Attr("antialias", Bool(), False, "F.interpolate's antialias (bilinear and bicubic, no axis shrinking)"),
        Attr("align_corners", Bool(), None, "F.interpolate's align_corners (not for nearest)"),
        Attr("window", IntList(), None, "a second table of this grid, tiled over the grid and added (Hiera)"),
        Attr("prefix", Int(0), 0, "k: rows of the table kept as they are in front of the grid's (a ViT's class "
                                   "token): [k + L, E] tokens"),
    )
    flops_rule = ("L·E + once per call: (2n − 1)·E per interpolated output, (r − 1)·E·L for factorised tables, "
                  "E·L for a tiled window")
    connections_rule = "2 · out: the input element and one table entry"

    def checked(self, a: Attrs, tokens: Shape) -> None:
        grid, table, mode, window = tuple(a["grid"]), tuple(a["table"]), a["mode"], a["window"]
        rows = a["prefix"] + numel(grid)
        if not (len(tokens) == 2 and tokens[0] == rows or tuple(tokens[:-1]) == grid and not a["prefix"]):
            raise ArchcalcError(f"{self.name}: needs [L, E] tokens with L = prefix + Π grid = {rows}, or a channels-"
                                f"last map [{', '.join(map(str, grid))}, E] (no prefix), got shape "
                                f"{list(tokens)}")  # fmt: skip
        if len(table) != len(grid):
            raise ArchcalcError(f"{self.name}: table {list(table)} and grid {list(grid)} differ in rank")
        if mode is None and table != grid:
            raise ArchcalcError(f"{self.name}: a table {list(table)} of another size than the grid {list(grid)} "
                                "needs a mode (it is interpolated)")  # fmt: skip
        if mode is None and (a["antialias"] or a["align_corners"] is not None):
            raise ArchcalcError(f"{self.name}: antialias and align_corners need a mode")
        rank = 1 if a["factorized"] else len(grid)
        if mode is not None and _RANK[mode] not in (0, rank):
            raise ArchcalcError(f"{self.name}: mode {mode} interpolates {_RANK[mode]} axes, the "
                                f"{'factorised tables have 1' if a['factorized'] else f'table has {rank}'}")
        if a["align_corners"] is not None and mode == "nearest":
            raise ArchcalcError(f"{self.name}: align_corners does not apply to nearest")
        if a["antialias"] and (mode not in ("bilinear", "bicubic") or any(g < t for g, t in zip(grid, table))):
            raise ArchcalcError(f"{self.name}: antialias is modelled for bilinear and bicubic upsampling only (no "
                                "axis shrinking)")  # fmt: skip
        if window is not None and (a["factorized"] or len(window) != len(grid)
                                   or any(g % w for g, w in zip(grid, window))):  # fmt: skip
            raise ArchcalcError(f"{self.name}: a window table must tile the grid {list(grid)} (same rank, sizes "
                                f"dividing it) and needs a grid table, got {list(window)}")  # fmt: skip
        if a["factorized"] and len(grid) < 2:
            raise ArchcalcError(f"{self.name}: factorised tables need a grid of two axes or more")
        if mode is None and window is None and not a["factorized"]:
            raise ArchcalcError(f"{self.name}: nothing is resized (no mode, no window): that is a "
                                "positional_embedding")  # fmt: skip

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        self.checked(a, ins[0])
        return ins[0]

    def table_elements(self, a: Attrs) -> int:
        """Positions the learned tables hold (times E: the parameters)."""
        held = sum(a["table"]) if a["factorized"] else numel(a["table"])
        return held + (numel(a["window"]) if a["window"] is not None else 0) + a["prefix"]

    def params(self, a: Attrs, ins: list[Shape], out: Shape) -> Params:
        return Params(trainable=self.table_elements(a) * ins[0][-1])

    def embedding_params(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return self.params(a, ins, out).total

    def per_call(self, a: Attrs, ins: list[Shape], out: Shape) -> tuple[int, int]:
        """(MACs, FLOPs) of making the table, once per call."""
        return 0, self.table_terms(a, ins[0])["flops"].value()  # type: ignore[return-value]

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return numel(out) + self.per_call(a, ins, out)[1]

    def connections(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return 2 * numel(out)

    def receptive_field(self, a: Attrs, ins: list[Shape], out: Shape):
        return IDENTITY

    def table_terms(self, a: Attrs, tokens: Shape) -> dict[str, Expr]:
        """The formulas of the tables' parameters and of making them (once per call)."""
        grid = [Term(f"g_{axis}", size) for axis, size in enumerate(a["grid"])]
        table = [Term(f"t_{axis}", size) for axis, size in enumerate(a["table"])]
        width, positions = Term("E", tokens[-1]), product(grid)
        held: Expr = sum(table[1:], table[0]) if a["factorized"] else product(table)  # type: ignore[assignment]
        made: list[Expr] = []
        if a["factorized"]:
            if taps(a["mode"], 1):
                made += [(2 * taps(a["mode"], 1) - 1) * width * g
                         for g, size, length in zip(grid, a["grid"], a["table"]) if size != length]
            made.append((len(grid) - 1) * width * positions)
        elif taps(a["mode"], len(grid)):
            made.append((2 * taps(a["mode"], len(grid)) - 1) * width * positions)
        if a["window"] is not None:
            held = held + product(Term(f"w_{axis}", size) for axis, size in enumerate(a["window"]))
            made.append(width * positions)
        if a["prefix"]:
            held = held + Term("k", a["prefix"])
        return {"params": width * held, "flops": sum(made[1:], made[0]) if made else Const(0)}

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        return kept_shape(ins[0])

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        t = self.table_terms(a, ins[0])
        return counts(params=t["params"], flops=tokens_of(out, "_out") + t["flops"],
                      connections=2 * tokens_of(out, "_out"),
                      notes={"FLOPs": "one add per element, + making the table once per call",
                             "params": "the learned tables"})  # fmt: skip

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc import torch_positions as tp

        self.checked(a, ins[0])
        return tp.ResizedPositionEmbedding(tuple(a["grid"]), tuple(a["table"]), ins[0][-1], a["factorized"],
                                           a["mode"], a["antialias"], a["align_corners"],
                                           tuple(a["window"]) if a["window"] is not None else None,
                                           a["prefix"])  # fmt: skip

    def torch_import(self) -> tuple:
        from archcalc import torch_positions as tp
        from archcalc.layers.elementwise import addition_functions

        def mine(call) -> dict:
            m = call.module
            return {"grid": list(m.grid), "table": list(m.table), "factorized": m.factorized, "mode": m.mode,
                    "antialias": m.antialias, "align_corners": m.align_corners,
                    "window": list(m.window) if m.window is not None else None, "prefix": m.prefix}  # fmt: skip

        def computed(call) -> bool:
            """One activation and one table made from parameters (a mere slice of one is positional_embedding's)."""
            return len(call.in_shapes) == 1 and len(call.weights) == 1 and bool(getattr(call.weights[0], "parts", ()))

        def added(call) -> dict:
            if call.kwargs or len(call.args) != 2:
                raise CannotMap("adds with arguments other than two tensors")
            return read_table(call.weights[0], call.in_shapes[0])

        return (ImportRule(self.name, modules=(tp.ResizedPositionEmbedding,), read=mine),
                ImportRule(self.name, functions=addition_functions(), read=added, when=computed,
                           gathered_operands="position_table", note="tokens + a position table interpolated or "
                           "tiled from parameters in forward (importer/derived_tables.py)"))  # fmt: skip


def read_table(table, tokens: Shape) -> dict:
    """The attributes of a position table the importer followed from parameters (importer/derived_tables.py:
    `parts`, each one learned table [1, C, *t] interpolated or tiled to [1, C, *size], and the grid axis of a
    factorised table), when it is one of the forms this type counts (the layer's shape rule checks the tokens)."""
    parts, width = table.parts, tokens[-1]
    if not parts or table.pieces and not table.prefix:
        raise CannotMap("an operand is a slice of a parameter's rows, not a whole position table")
    if tuple(s for s in table.shape if s != 1) != tuple(s for s in tokens if s != 1):
        raise CannotMap(f"a position table of shape {list(table.shape)} is added to tokens {list(tokens)}, not one "
                        "entry per token")  # fmt: skip
    if any(p.channels != width for p in parts):
        raise CannotMap(f"a position table of {parts[0].channels} channels is added to tokens of width {width}")
    resized = [p for p in parts if not p.tiled]
    modes = {(p.mode, p.antialias, p.align_corners) for p in resized if p.mode is not None or not table.factorized}
    if len(modes) > 1:
        raise CannotMap("its position tables are interpolated in different ways")
    mode, antialias, align_corners = modes.pop() if modes else (None, False, None)
    common = {"mode": mode, "antialias": antialias or None, "align_corners": align_corners}
    if table.factorized:
        order = sorted(parts, key=lambda p: p.axis)
        if any(p.mode is not None and p.table == p.size for p in parts):
            raise CannotMap("interpolates a factorised table to its own length (modelled: left as it is)")
        return {"grid": [p.size[0] for p in order], "table": [p.table[0] for p in order], "factorized": True,
                **common}  # fmt: skip
    tiled = [p for p in parts if p.tiled]
    if len(resized) != 1 or len(tiled) > 1 or (tiled and tiled[0].size != resized[0].size):
        raise CannotMap("sums position tables other than one interpolated table and one tiled window table")
    window = list(tiled[0].table) if tiled else None
    if mode is None and window is None:
        raise CannotMap("a tiled table alone (nothing interpolated)")
    return {"grid": list(resized[0].size), "table": list(resized[0].table), "window": window, **common,
            "prefix": table.prefix or None}
