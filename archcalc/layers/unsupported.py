"""unsupported: an operation archcalc has no rule for, kept in the graph so that everything around it
is still counted exactly.

Importing a torch model (`archcalc report --module`) turns each torch module or function without an
import rule into one of these. It keeps the traced output shape (so later layers get the right input)
and the parameters and buffers the operation owns (read from the module: exact), but its MACs, FLOPs
and connections are unknown. They are reported as 0 in the layer's row and the report says so:
`complete` is false and `unsupported` lists the layer with the torch operation, where it appears and
why it did not map. Exported specs keep these layers, so the loaded spec stays incomplete too.

    shape        the `shape` attribute (traced output, batch excluded)
    params       `params` trainable, `non_trainable`, `buffers` (as torch counts the operation's own)
    macs, flops, connections   unknown (0, flagged)
    receptive field            ends (None)
"""

from __future__ import annotations

from archcalc.layers.attrs import Attr, Int, IntList, Text
from archcalc.layers.base import Attrs, LayerType, Params, Shape, axis_names, register
from archcalc.layers.formula import Const, Formula, counts
from archcalc.layers.imports import ImportRule


@register
class Unsupported(LayerType):
    name = "unsupported"
    summary = "a torch operation archcalc cannot count (from an import): traced shape and own params only"
    category = "other"
    input_kind = "unknown"  # an op without a rule may take token ids or numbers, and give either
    min_inputs = 0
    max_inputs = None
    attrs = (
        Attr("shape", IntList(), doc="output shape without the batch axis"),
        Attr("op", Text(), doc="the torch operation, qualified (torch.fft.rfft2, mypkg.models.Swizzle)"),
        Attr("where", Text(), "", "where the model calls it (module path, source line)"),
        Attr("reason", Text(), "", "why it did not map to a layer type"),
        Attr("params", Int(0), 0, "trainable parameters it owns"),
        Attr("non_trainable", Int(0), 0, "frozen parameters it owns"),
        Attr("buffers", Int(0), 0, "buffer elements it owns"),
    )
    flops_rule = "unknown (the report says it is incomplete)"
    connections_rule = "unknown"

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        return tuple(a["shape"])

    def params(self, a: Attrs, ins: list[Shape], out: Shape) -> Params:
        return Params(a["params"], a["non_trainable"], a["buffers"])

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        return [Formula(f"{name}_out", Const(size), "traced by torch") for name, size in
                zip(axis_names(len(out)), out)]  # fmt: skip

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        unknown = f"unknown: {a['op']} has no archcalc rule (counted as 0, and the report says it is incomplete)"
        return counts(params=Const(a["params"] + a["non_trainable"]), buffers=Const(a["buffers"]) if a["buffers"]
                      else None, notes={"MACs": unknown, "FLOPs": unknown})  # fmt: skip

    def receptive_field(self, a: Attrs, ins: list[Shape], out: Shape) -> None:
        return None

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc import torch_modules as tm

        return tm.Placeholder(out, a["params"], a["non_trainable"], a["buffers"], a["op"], a["where"], a["reason"])

    def torch_import(self) -> tuple:
        from archcalc import torch_modules as tm

        def read(call) -> dict:
            m = call.module
            sizes = {"params": m.trainable, "non_trainable": m.frozen, "buffers": m.state}
            counts = {key: 0 if value is None else value.numel() for key, value in sizes.items()}
            return {"shape": call.out_shape, "op": m.op, "where": m.where, "reason": m.reason} | counts

        return (ImportRule(self.name, modules=(tm.Placeholder,), read=read),)

    def incomplete(self, a: Attrs) -> dict | None:
        return {"op": a["op"], "where": a["where"], "reason": a["reason"]}
