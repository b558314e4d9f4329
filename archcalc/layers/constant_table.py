"""A tensor the forward makes from the input's shape alone and expands over the batch: constant_table.

ConViT's GPSA builds a [1, N, N, 3] table of relative patch offsets from N (`get_rel_indices`) and runs a
linear on it for every sample, `self.pos_proj(self.rel_indices.expand(B, -1, -1, -1))`: the table is the same
for every sample, but the linear's work is per sample, as torch runs it (fvcore and FlopCounterMode count
B·N²·3·H MACs). archcalc follows such a table as a constant (importer/constants.py); where a call with no rule
for constants reads it expanded over the batch, the expanded table becomes this layer and the call an
ordinary layer on it (importer/expanded.py).

constant_table  {type: constant_table, shape: [196, 196, 3]}
    output       `shape`, whatever the input (the input only orders the layer after it: the table is made
                 from the input's shape, not its values)
    params, macs, flops, connections   0: making the table from the input's shape is bookkeeping, done once
                 per shape, and counted by no tool (fvcore skips aten::zeros / arange / repeat, FlopCounterMode
                 registers none); if it was made from buffers, the layer holds them (`weights: {tables: n}`)
    memory       its output, as any layer's (torch's expand is a view of one table)

Receptive field: None (no input value reaches it).
"""

from __future__ import annotations

from archcalc.layers.attrs import Attr, IntList
from archcalc.layers.base import Attrs, LayerType, Shape, register
from archcalc.layers.formula import Formula, Term, counts
from archcalc.layers.imports import ImportRule


@register
class ConstantTable(LayerType):
    name = "constant_table"
    summary = "a tensor made from the input's shape alone, the same for every sample (ConViT's rel_indices)"
    category = "structure"
    data_movement = True
    attrs = (Attr("shape", IntList(), doc="the table's shape per sample (without the batch axis)"),)

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        return tuple(a["shape"])

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        return [Formula(f"out_{axis}", Term(f"s_{axis}", size), "the table's shape")
                for axis, size in enumerate(a["shape"])]  # fmt: skip

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        return counts(notes={"FLOPs": "made from the input's shape: bookkeeping, once per shape"})

    def receptive_field(self, a: Attrs, ins: list[Shape], out: Shape) -> None:
        return None

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc import torch_tokens as tt

        return tt.ConstantTable(tuple(a["shape"]))

    def torch_import(self) -> tuple:
        from archcalc import torch_tokens as tt

        return (ImportRule(self.name, modules=(tt.ConstantTable,), read=lambda c: {"shape": list(c.module.shape)}),)
