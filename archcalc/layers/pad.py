"""Spatial padding over 1, 2 or 3 spatial axes: pad1d, pad (two axes) and pad3d, as torch's
ZeroPad*d, ConstantPad*d, ReflectionPad*d, ReplicationPad*d, CircularPad*d and F.pad.

Padding only moves data: no FLOPs and no connections. A negative side crops that many rows or columns
(zero and constant mode: torch's F.pad and ZeroPad2d accept it; NASNet's ZeroPad2d((-1, 1, -1, 1))
shifts the map by one position).

    shape        per axis: in + pad_before + pad_after (reflect needs each pad <= size - 1, circular
                 <= size, as torch's F.pad)
    RF           a 1-wide window per axis, shifted by the padding before (top, left, front)
    training     backward about the forward cost (the default rule).
"""

from __future__ import annotations

from archcalc.errors import ArchcalcError
from archcalc.layers.attrs import Attr, Choice, Float, Padding
from archcalc.layers.base import Attrs, LayerType, RFStep, Shape, register_ranks, require_rank, torch_class
from archcalc.layers.formula import Formula, Term
from archcalc.layers.geometry import axis_symbols, befores, check_border_padding, sides, torch_pad
from archcalc.layers.imports import ImportRule, spec_sides

_SIDES = {1: "int or [left, right]", 2: "int, [h, w] or [top, bottom, left, right]",
          3: "int, [d, h, w] or [front, back, top, bottom, left, right]"}  # fmt: skip


class _Pad(LayerType):
    family = "pad"
    summary = "spatial padding: zero, constant, reflect, replicate or circular"
    category = "structure"
    data_movement = True

    @classmethod
    def rank_attrs(cls, rank: int) -> tuple[Attr, ...]:
        return (
            Attr("padding", Padding(rank, minimum=None), doc=_SIDES[rank] + "; a negative side crops (zero and "
                 "constant mode, as torch's F.pad and ZeroPad2d((-1, 1, -1, 1)) in NASNet)"),
            Attr("mode", Choice("zero", "constant", "reflect", "replicate", "circular"), "zero"),
            Attr("value", Float(), 0.0, "fill value for constant mode"),
        )

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        require_rank(self.name, ins[0], self.spatial_rank + 1)
        if a["padding"] == "same":
            raise ArchcalcError(f"{self.name}: padding 'same' has no meaning here; give the sides")
        check_border_padding(self.name, a["mode"], a["padding"], ins[0][1:])
        if min(a["padding"]) < 0 and a["mode"] not in ("zero", "constant"):
            raise ArchcalcError(f"{self.name}: negative padding (a crop) needs mode zero or constant, not {a['mode']}")
        out = tuple(size + before + after for size, (before, after) in zip(ins[0][1:], sides(a["padding"])))
        if min(out) < 1:
            raise ArchcalcError(f"{self.name}: padding {list(a['padding'])} leaves nothing of the input "
                                f"{list(ins[0])} (output {[ins[0][0], *out]})")  # fmt: skip
        return (ins[0][0],) + out

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        formulas = [Formula("C_out", Term("C", ins[0][0]))]
        for axis, (size, (before, after)) in enumerate(zip(ins[0][1:], sides(a["padding"]))):
            size_s, _, _, before_s, after_s, _ = axis_symbols(self.spatial_rank, axis)
            formulas.append(Formula(f"{size_s}_out", Term(size_s, size) + Term(before_s, before) + Term(after_s, after)))
        return formulas

    def receptive_field(self, a: Attrs, ins: list[Shape], out: Shape) -> RFStep:
        rank = self.spatial_rank
        return RFStep((1,) * rank, (1,) * rank, befores(a["padding"]))

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc import torch_modules as tm

        return tm.Pad(torch_pad(a["padding"]), "constant" if a["mode"] == "zero" else a["mode"],
                      0.0 if a["mode"] == "zero" else a["value"])  # fmt: skip

    def torch_import(self) -> tuple:
        from torch.nn import functional as F

        from archcalc import torch_modules as tm

        rank = self.spatial_rank
        ours = lambda call: len(call.in_shapes[0]) == rank + 1  # noqa: E731 - F.pad on a map of this rank

        def attrs(pad, mode: str, value) -> dict:
            if mode == "constant" and not value:
                return {"padding": spec_sides(pad, rank), "mode": "zero"}
            return {"padding": spec_sides(pad, rank), "mode": mode} | ({"value": value} if mode == "constant" else {})

        def function(call) -> dict:
            b = call.bind("input", "pad", "mode", "value", mode="constant", value=None)
            return attrs(b["pad"], b["mode"], b["value"])

        fixed = [(torch_class(prefix, rank), mode) for prefix, mode in (
            ("ZeroPad", "constant"), ("ConstantPad", "constant"), ("ReflectionPad", "reflect"),
            ("ReplicationPad", "replicate"), ("CircularPad", "circular"))]  # fmt: skip
        return (
            ImportRule(self.name, modules=(tm.Pad,), read=lambda c: attrs(c.module.pad, c.module.mode, c.module.value),
                       when=ours, note=f"on a rank-{rank + 1} sample"),
            *[ImportRule(self.name, modules=(cls,),
                         read=lambda c, mode=mode: attrs(c.module.padding, mode, getattr(c.module, "value", 0.0)))
              for cls, mode in fixed],
            ImportRule(self.name, functions=(F.pad,), read=function, when=ours, note=f"on a rank-{rank + 1} sample"),
        )  # fmt: skip


register_ranks(_Pad, {1: "pad1d", 2: "pad", 3: "pad3d"}, {
    1: "padding of [C, L]: zero, constant, reflect, replicate or circular",
    2: "spatial padding: zero, constant, reflect or replicate",
    3: "padding of [C, D, H, W]: zero, constant, reflect, replicate or circular"})
