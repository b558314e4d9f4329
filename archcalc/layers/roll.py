"""Cyclic shift: roll (torch.roll along sample axes; the shift of Swin's shifted windows, which timm writes
as `torch.roll(x, shifts=(-s, -s), dims=(1, 2))` on [B, H, W, C] before partitioning it into windows).

roll (elements pushed off one end of an axis come back at the other; axes without the batch axis)
    only moves data: no FLOPs, no connections

Receptive field: None (positions wrap around the map's edge).
"""

from __future__ import annotations

from archcalc.errors import ArchcalcError
from archcalc.layers.attrs import Attr, IntList
from archcalc.layers.base import Attrs, LayerType, Shape, register, same_shape
from archcalc.layers.formula import Formula, counts
from archcalc.layers.imports import CannotMap, ImportRule


@register
class Roll(LayerType):
    name = "roll"
    summary = "cyclic shift along sample axes (torch.roll; Swin's shifted windows)"
    category = "structure"
    data_movement = True
    attrs = (Attr("shifts", IntList(None), doc="places each axis moves (negative: towards the start)"),
             Attr("axes", IntList(None), doc="the axes rolled, not counting the batch, one per shift"))  # fmt: skip

    def axes(self, a: Attrs, shape: Shape) -> list[int]:
        if len(a["shifts"]) != len(a["axes"]):
            raise ArchcalcError(f"roll: {len(a['shifts'])} shifts for {len(a['axes'])} axes")
        for axis in a["axes"]:
            if not -len(shape) <= axis < len(shape):
                raise ArchcalcError(f"roll: axis {axis} is out of range for a sample of shape {list(shape)}")
        return [axis % len(shape) for axis in a["axes"]]

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        self.axes(a, ins[0])
        return ins[0]

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        return same_shape(ins[0])

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        return counts(notes={"FLOPs": "only moves data"})

    def receptive_field(self, a: Attrs, ins: list[Shape], out: Shape) -> None:
        return None

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc import torch_tokens as tt

        return tt.Roll(list(a["shifts"]), [axis + 1 for axis in self.axes(a, ins[0])])

    def torch_import(self) -> tuple:
        import torch

        from archcalc import torch_tokens as tt

        def read(call) -> dict:
            b = call.bind("input", "shifts", "dims", dims=None)
            if b["dims"] is None:
                raise CannotMap("rolls the flattened tensor (no dims), batch and all")
            shifts = list(b["shifts"]) if isinstance(b["shifts"], (tuple, list)) else [b["shifts"]]
            dims = list(b["dims"]) if isinstance(b["dims"], (tuple, list)) else [b["dims"]]
            return {"shifts": [int(s) for s in shifts], "axes": [call.axis(int(d)) for d in dims]}

        return (ImportRule(self.name, modules=(tt.Roll,),
                           read=lambda c: {"shifts": c.module.shifts, "axes": [d - 1 for d in c.module.dims]}),
                ImportRule(self.name, functions=(torch.roll, torch.Tensor.roll), read=read))  # fmt: skip
