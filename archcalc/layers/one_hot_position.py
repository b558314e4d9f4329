"""one_hot_position_embedding: tokens plus rows of a position table picked by a one-hot matrix product.

Gemma 4's vision encoder (timm 1.0.31 models/gemma4_vit.py, Gemma4PatchEmbed) keeps one table of P rows per
grid axis, `position_embedding_table` [A, P, D] (A = 2: x and y), and adds to each token the sum of its x row
and its y row, looked up as a dense product with one-hot rows made from the patch grid:

    x + (one_hot(positions) [B, A, N, P] @ table [A, P, D]).sum(dim=1)

The one-hot matrix holds no input value (importer/constants.py), so the lookup is followed as a value computed
from the weights and the input's shape (importer/one_hot_table.py) and this layer is the add that puts it on the
tokens. Its counts are what torch runs, the dense product, not the A rows each token keeps.

    {type: one_hot_position_embedding, positions: 10240}           [N, D] -> [N, D], table [2, 10240, D]
    {type: one_hot_position_embedding, positions: 64, axes: 3}

    params       A·P·D (the table)
    MACs         A·N·P·D (each token's A one-hot rows times the table)
    flops        2·MACs + A·N·D ((A − 1)·N·D for the sum over the axes, N·D for the add to the tokens)
    connections  MACs + N·D (each output reads its A·P table entries and its token)

Receptive field: position-wise (identity: each token keeps its own position). Peers: fvcore counts the product
(aten::matmul: MACs), FlopCounterMode 2 per MAC (aten::bmm); neither counts the sum or the add. ptflops patches
Tensor.matmul, not the `@` operator, and thop hooks modules only: 0 each; torchinfo counts parameters named
weight or bias, and the table is neither: 0.
"""

from __future__ import annotations

from typing import Any

from archcalc.errors import ArchcalcError
from archcalc.layers.attrs import Attr, Int
from archcalc.layers.base import IDENTITY, Attrs, LayerType, Params, Shape, numel, register, same_shape
from archcalc.layers.elementwise import addition_functions
from archcalc.layers.formula import Const, Formula, Term, counts
from archcalc.layers.imports import CannotMap, ImportRule


@register
class OneHotPositionEmbedding(LayerType):
    name = "one_hot_position_embedding"
    summary = "tokens + the sum of their rows of A position tables, looked up by a one-hot product (Gemma 4)"
    category = "other"
    dense_macs = True
    attrs = (Attr("positions", Int(1), doc="rows of each axis's table (P: the positions it can hold)"),
             Attr("axes", Int(1), 2, "tables, one per grid axis (A), each looked up and summed"))
    flops_rule = "2 * MACs + A * N * D (the sum over the axes and the add to the tokens)"
    connections_rule = "MACs + N * D"

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        if len(ins[0]) != 2:
            raise ArchcalcError(f"one_hot_position_embedding: takes tokens [N, D], got {list(ins[0])}")
        return ins[0]

    def params(self, a: Attrs, ins: list[Shape], out: Shape) -> Params:
        return Params(trainable=a["axes"] * a["positions"] * ins[0][-1])

    def macs(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return a["axes"] * a["positions"] * numel(out)

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return 2 * self.macs(a, ins, out) + a["axes"] * numel(out)

    def connections(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return self.macs(a, ins, out) + numel(out)

    def receptive_field(self, a: Attrs, ins: list[Shape], out: Shape):
        return IDENTITY

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        return same_shape(ins[0])

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        axes, rows = Term("A", a["axes"]), Term("P", a["positions"])
        tokens, dim = Term("N", ins[0][0]), Term("D", ins[0][1])
        macs = axes * tokens * rows * dim
        return counts(params=axes * rows * dim, macs=macs, flops=Const(2) * macs + axes * tokens * dim,
                      connections=macs + tokens * dim,
                      notes={"MACs": "the dense one-hot product, as torch runs it",
                             "FLOPs": "2 per MAC, the sum over the A axes and the add to the tokens"})  # fmt: skip

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc import torch_tokens as tt

        return tt.OneHotPositionEmbedding(a["axes"], a["positions"], ins[0][-1])

    def torch_import(self) -> tuple:
        from archcalc import torch_tokens as tt

        def lookup(call: Any) -> bool:
            return len(call.in_shapes) == 1 and len(call.weights) == 1 and getattr(call.weights[0], "one_hot", False)

        def added(call: Any) -> dict:
            found = call.weights[0]
            if call.kwargs or len(call.args) != 2:
                raise CannotMap("adds with arguments other than two tensors")
            if not found.summed or tuple(found.shape[-2:]) != tuple(call.in_shapes[0]):
                raise CannotMap(f"a one-hot table product of shape {list(found.shape)} is added to tokens "
                                f"{list(call.in_shapes[0])}, not one summed row per token")  # fmt: skip
            return {"positions": found.table.shape[1], "axes": found.table.shape[0]}

        def built(call: Any) -> dict:
            axes, positions, _ = call.module.position_embedding_table.shape
            return {"positions": positions, "axes": axes}

        return (ImportRule(self.name, modules=(tt.OneHotPositionEmbedding,), read=built),
                ImportRule(self.name, functions=addition_functions(), read=added, when=lookup,
                           gathered_operands=True, note="x + (one_hot @ table).sum(dim=1): the table a parameter "
                                                        "[A, P, D], the one-hot rows a constant"))  # fmt: skip
