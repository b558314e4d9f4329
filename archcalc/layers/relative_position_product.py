"""Decomposed relative positions (MViTv2, Li et al. 2022; SAM's ViT): the queries times rows gathered from a
relative-position table, one axis of the grid at a time.

timm's vision_transformer_sam.py (`get_decomposed_rel_pos_bias`) and mvitv2.py (`cal_rel_pos_type`), 1.0.31:

    Rh = rel_pos_h[dist_h.long()]                   # [q_h, k_h, C]: the table's rows for each (query, key) offset,
                                                    # dist_h = arange(q_h)[:, None] - arange(k_h)[None, :] + k_h - 1
    rel_h = torch.einsum("bhwc,hkc->bhwk", r_q, Rh)  # the queries [*, q_h, q_w, C] times those rows

The index is computed in forward from the grid's sizes (no buffer), so the gathered rows depend on the weights
and the input's shape alone: the importer follows them (importer/derived.py, `computed`), and the layer is the
einsum that multiplies them with the queries. The sums with the attention scores that follow are ordinary
adds of activations.

relative_position_product  einsum(equation, x, table[index])
    attrs        equation (two operands and the output, the batch axis left out: "hwc,hkc->hwk"; the first
                 operand is the input, the second the gathered rows), table (the table's shape as indexed
                 [rows, C]), index (the computed index's shape [q, k]): the rows are [*index, *table[1:]], the
                 table's first axis indexed; table_rows (SAM's get_rel_pos with a table of other rows than the
                 grid needs: the parameter has table_rows rows and is resized to table[0] by linear
                 interpolation on every call, once per call whatever the batch, not counted: derived_resize.py)
    output       as einsum: the sizes of the output's letters
    params       table_rows (default table[0]) · Π table[1:] (trainable; a relative-position embedding);
                 buffers 0 (the index is computed)
    macs         P = Π of every letter's size, as einsum (one contraction: every summed letter is in both)
    flops        2P − numel(out);  connections 2P
    Gathering the rows is bookkeeping done once per call, whatever the batch: not counted (no peer does: fvcore
    has no handle for aten::index, FlopCounterMode registers none).
Peers: fvcore's einsum handle: numpy's optimised FLOP count of the equation with the batch (2 per product),
printed to four digits ("%.3e"), halved and floored (the rows have no batch letter, so fvcore's two exact
equations never match); FlopCounterMode: the bmm torch.einsum runs, 2P; ptflops does not patch torch.einsum
(but counts a resized table's F.interpolate output, table[0]·C, as every batch of one), thop hooks no module,
torchinfo counts no parameter named otherwise than weight or bias: 0.

Receptive field: mixes the whole contracted axis (None).
"""

from __future__ import annotations

from archcalc.errors import ArchcalcError
from archcalc.layers.attrs import Attr, Int, IntList
from archcalc.layers.base import Attrs, Params, Shape, numel, register
from archcalc.layers.formula import Formula, Group, Term, counts, product
from archcalc.layers.imports import CannotMap, ImportRule
from archcalc.layers.tensor_algebra import Einsum, parse_equation


@register
class RelativePositionProduct(Einsum):
    name = "relative_position_product"
    summary = "einsum of the queries with rows a computed index gathers from a relative-position table (SAM, MViTv2)"
    min_inputs = max_inputs = 1
    attrs = (
        Attr("equation", Einsum.attrs[0].kind, doc="subscripts of the input, the gathered rows and the output, batch "
                                                   "axis left out (\"hwc,hkc->hwk\")"),
        Attr("table", IntList(), doc="the relative-position table's shape [rows, C] (its first axis is indexed)"),
        Attr("index", IntList(), doc="the shape of the index computed in forward ([q, k]: one row per offset)"),
        Attr("table_rows", Int(1), None, "the parameter's own rows when the forward resizes it to table[0] rows "
                                         "first (SAM's get_rel_pos: linear interpolation); default table[0]"),
    )
    flops_rule = "2P - out, P = product of every letter's size (as einsum; the gather is bookkeeping)"
    connections_rule = "2P"

    @staticmethod
    def rows(a: Attrs) -> Shape:
        """The gathered rows' shape: the index's, then the table's other axes."""
        if not a["table"]:
            raise ArchcalcError("relative_position_product: the table needs at least one axis")
        if a["table_rows"] is not None and len(a["table"]) != 2:
            raise ArchcalcError(f"relative_position_product: table_rows resizes a [rows, C] table, got table "
                                f"{list(a['table'])}")  # fmt: skip
        return tuple(a["index"]) + tuple(a["table"][1:])

    def operands(self, a: Attrs, ins: list[Shape]) -> list[Shape]:
        if len(ins) != 1:
            raise ArchcalcError(f"{self.name} takes one input, got {len(ins)}")
        return [ins[0], self.rows(a)]

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        try:
            return super().shape(a, self.operands(a, ins))
        except ArchcalcError as exc:  # the equation's errors name this type, not einsum
            raise ArchcalcError(exc.message.replace("einsum:", f"{self.name}:", 1)) from None

    def products(self, a: Attrs, ins: list[Shape]) -> tuple[int, bool]:  # type: ignore[override]
        return super().products(a, self.operands(a, ins))

    @staticmethod
    def weights(a: Attrs) -> int:
        """The parameter's elements: table_rows (or table[0]) rows of the table's other axes."""
        rows = a["table_rows"] if a["table_rows"] is not None else a["table"][0]
        return rows * numel(tuple(a["table"][1:]))

    def params(self, a: Attrs, ins: list[Shape], out: Shape) -> Params:
        self.rows(a)
        return Params(trainable=self.weights(a))

    def embedding_params(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        """The table is a relative-position embedding."""
        return self.weights(a)

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        return super().explain_shape(a, self.operands(a, ins), out)

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        _, rhs, sizes = parse_equation(a["equation"], self.operands(a, ins))
        every = product(Term(letter, size) for letter, size in sizes.items())
        kept = product(Term(letter, sizes[letter]) for letter in rhs)
        summed = len(rhs) < len(sizes)
        table = product([Term("t0", a["table_rows"] if a["table_rows"] is not None else a["table"][0])]
                        + [Term(f"t{axis}", size) for axis, size in enumerate(a["table"]) if axis])
        return counts(params=table, macs=every if summed else 0, flops=2 * every - kept, connections=2 * every,
                      notes={"params": "the relative-position table (the index is computed: no buffer)",
                             "MACs": "one multiply-add per combination of all letters" if summed else
                             "no letter is summed: multiplies, no accumulation",
                             "FLOPs": "multiplies, and adds for the summed letters; gathering the rows is "
                                      "per call, not per sample"})  # fmt: skip

    def torch_equation(self, a: Attrs, ins: list[Shape]) -> str:
        """The equation archcalc's build hands torch.einsum: a batch letter in front of the input and the output."""
        operands, rhs, _ = parse_equation(a["equation"], self.operands(a, ins))
        batch = next(c for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in a["equation"])
        return f"{batch}{operands[0]},{operands[1]}->{batch}{rhs}"

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc import torch_attention as ta

        return ta.RelativePositionProduct(self.torch_equation(a, ins), tuple(a["table"]), tuple(a["index"]),
                                          a["table_rows"])

    def torch_import(self) -> tuple:
        import torch

        from archcalc import torch_attention as ta

        def mine(call) -> dict:
            m = call.module
            operands, rhs = m.equation.split("->")[0].split(","), m.equation.split("->")[1]
            return {"equation": f"{operands[0][1:]},{operands[1]}->{rhs[1:]}",
                    "table": [m.rows_needed] + list(m.table.shape[1:]), "index": list(m.index_shape),
                    "table_rows": m.table.shape[0] if m.table.shape[0] != m.rows_needed else None}  # fmt: skip

        def gathered(call) -> bool:
            return len(call.in_shapes) == 1 and len(call.weights) == 1

        def read(call) -> dict:
            rows = call.weights[0]
            if not isinstance(call.args[0], str) or call.kwargs or len(call.args) != 3:
                raise CannotMap("needs an equation and two operands")
            if rows.index is not None or rows.axis != 0 or rows.mlp is not None or rows.head is not None:
                raise CannotMap("the rows are not a table's first axis gathered by an index computed in forward")
            table, index = tuple(rows.table_shape), rows.index_shape
            if rows.shape != index + table[1:]:
                raise CannotMap(f"the gathered rows {list(rows.shape)} were rearranged after the gather")
            shapes = [tuple(t.shape) if hasattr(t, "shape") else None for t in call.args[1:]]
            if shapes.count(rows.shape) != 1:
                raise CannotMap("cannot tell the gathered rows from the input by their shapes")
            return {"equation": _sample_equation(call, shapes[1] == rows.shape), "table": list(table),
                    "index": list(index), "table_rows": rows.resized_from}  # fmt: skip

        return (ImportRule(self.name, modules=(ta.RelativePositionProduct,), read=mine),
                ImportRule(self.name, functions=(torch.einsum,), read=read, when=gathered, gathered_operands=True,
                           note="one operand is rows gathered from a parameter table by an index computed in "
                                "forward (SAM, MViTv2)"))  # fmt: skip


def _sample_equation(call, input_first: bool) -> str:
    """The model's equation per sample, the input's subscripts first: the batch letter dropped where the batch
    is its own axis (in front: MViTv2's "byhwc,hkc->byhwk"), kept where it is merged with another (SAM's queries
    [B·heads, h, w, c]: one sample's part of that axis is its heads)."""
    text = call.args[0].replace(" ", "")
    lhs, arrow, rhs = text.partition("->")
    parts = lhs.split(",")
    if not arrow or len(parts) != 2:
        raise CannotMap("needs two operands and an explicit output ('->')")
    given, rows = (parts[0], parts[1]) if input_first else (parts[1], parts[0])
    if call.batch_merged:
        return f"{given},{rows}->{rhs}"
    axis = call.batch_axis
    if axis >= len(given) or axis >= len(rhs) or given[axis] != rhs[axis] or given[axis] in rows:
        raise CannotMap("the batch axis is not the same axis of the input and the output")
    letter = given[axis]
    if text.count(letter) != 2:
        raise CannotMap("the batch letter appears more than once in an operand")
    return f"{given.replace(letter, '')},{rows}->{rhs.replace(letter, '')}"
