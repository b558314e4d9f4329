"""Windows along one axis as a new last axis: unfold_axis (torch's Tensor.unfold(dimension, size, step)). timm's
HaloAttn (timm/layers/halo_attn.py 1.0.31) cuts the padded keys and values into overlapping blocks with
`kv.unfold(2, win, block).unfold(3, win, block)`. nn.Unfold (im2col) and nn.Fold are layers/fold.py.

unfold_axis on any shape, `axis` counting the sample's axes (not the batch; negative from the end)
    shape        the axis of length n becomes w = ⌊(n − size) / step⌋ + 1 windows, and a last axis of `size`
                 holds each window's elements (n >= size)
    flops, connections, params   0: a view of the same elements (data movement)
    RF           none: the output gains an axis, so positions are no longer one map's
"""

from __future__ import annotations

from archcalc.errors import ArchcalcError
from archcalc.layers.attrs import Attr, Int
from archcalc.layers.base import Attrs, LayerType, Shape, axis_names, register
from archcalc.layers.formula import Formula, Term, floor
from archcalc.layers.imports import ImportRule


@register
class UnfoldAxis(LayerType):
    name = "unfold_axis"
    summary = "windows along one axis as a new last axis (Tensor.unfold(dim, size, step); HaloAttn's blocks)"
    category = "structure"
    data_movement = True
    attrs = (
        Attr("axis", Int(None), doc="the axis cut into windows, not counting the batch (negative: from the end)",
             aliases=("dim", "dimension")),
        Attr("size", Int(), doc="elements per window (the new last axis)"),
        Attr("step", Int(), doc="distance between the starts of consecutive windows"),
    )

    def resolved_axis(self, a: Attrs, shape: Shape) -> int:
        if not -len(shape) <= a["axis"] < len(shape):
            raise ArchcalcError(f"unfold_axis: axis {a['axis']} is out of range for a sample of shape {list(shape)}")
        return a["axis"] % len(shape)

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        axis = self.resolved_axis(a, ins[0])
        length = ins[0][axis]
        if a["size"] > length:
            raise ArchcalcError(f"unfold_axis: window size {a['size']} is longer than axis {a['axis']} ({length})")
        windows = (length - a["size"]) // a["step"] + 1
        return ins[0][:axis] + (windows,) + ins[0][axis + 1 :] + (a["size"],)

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        axis = self.resolved_axis(a, ins[0])
        names = axis_names(len(ins[0])) if len(ins[0]) <= 4 else tuple(f"d{i}" for i in range(len(ins[0])))
        formulas = []
        for index, (name, size) in enumerate(zip(names, ins[0])):
            if index == axis:
                windows = floor((Term(name, size) - Term("size", a["size"])) / Term("step", a["step"])) + 1
                formulas.append(Formula(f"{name}_out", windows, "windows along the unfolded axis"))
            else:
                formulas.append(Formula(f"{name}_out", Term(name, size)))
        return formulas + [Formula("window", Term("size", a["size"]), "each window's elements, a new last axis")]

    def receptive_field(self, a: Attrs, ins: list[Shape], out: Shape) -> None:
        return None

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc import torch_tokens as tt

        return tt.UnfoldAxis(self.resolved_axis(a, ins[0]) + 1, a["size"], a["step"])

    def torch_import(self) -> tuple:
        import torch

        from archcalc import torch_tokens as tt

        def read(call) -> dict:
            b = call.bind("input", "dimension", "size", "step")
            return {"axis": call.axis(int(b["dimension"])), "size": int(b["size"]), "step": int(b["step"])}

        def built(call) -> dict:
            m = call.module
            return {"axis": m.dim - 1, "size": m.size, "step": m.step}

        return (ImportRule(self.name, modules=(tt.UnfoldAxis,), read=built),
                ImportRule(self.name, functions=(torch.Tensor.unfold,), read=read))  # fmt: skip
