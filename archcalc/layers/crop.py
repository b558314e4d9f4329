"""Taking part of a tensor: crop (a spatial window, U-Net's skips, FCN's final crop) and slice (a range
along one axis, ShuffleNet V2's channel split).

Both only select data: no parameters, no FLOPs, no connections.

crop (C x H x W -> C x h x w)
    offset       (top, left); by default centred: top = floor((H - h) / 2), left = floor((W - w) / 2)
                 (U-Net's crop-and-copy); Caffe's Crop layer in FCN gives it explicitly (offset 19)
    RF           output (y, x) is input (y + top, x + left): a 1x1 window with padding -top, -left
slice (one axis, elements start .. end - 1; end defaults to the axis size)
    RF           channels (axis 0): identity; a spatial axis shifts like crop, by -start
"""

from __future__ import annotations

from archcalc.errors import ArchcalcError
from archcalc.layers.attrs import Attr, Int, Pair
from archcalc.layers.base import IDENTITY, Attrs, LayerType, RFStep, Shape, axis_names, register, require_rank
from archcalc.layers.formula import Formula, Term


@register
class Crop(LayerType):
    name = "crop"
    summary = "spatial crop to h x w at an offset (centred by default)"
    category = "structure"
    attrs = (
        Attr("size", Pair(), doc="output height and width"),
        Attr("offset", Pair(0), None, "top and left of the window; default: centred (rounding down)"),
    )

    def origin(self, a: Attrs, in_shape: Shape) -> tuple[int, int]:
        if a["offset"] is not None:
            return a["offset"]
        return (in_shape[1] - a["size"][0]) // 2, (in_shape[2] - a["size"][1]) // 2

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        require_rank(self.name, ins[0], 3)
        origin = self.origin(a, ins[0])
        for axis, name in enumerate(("height", "width")):
            size, start, available = a["size"][axis], origin[axis], ins[0][1 + axis]
            if start < 0 or start + size > available:
                raise ArchcalcError(
                    f"crop: a {name} window of {size} at offset {start} does not fit the input {name} {available}"
                )
        return (ins[0][0],) + a["size"]

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        top, left = self.origin(a, ins[0])
        return [Formula("C_out", Term("C", ins[0][0])),
                Formula("H_out", Term("h", a["size"][0]), f"rows {top} .. {top + a['size'][0] - 1} of {ins[0][1]}"),
                Formula("W_out", Term("w", a["size"][1]), f"columns {left} .. {left + a['size'][1] - 1} of {ins[0][2]}")]  # fmt: skip

    def receptive_field(self, a: Attrs, ins: list[Shape], out: Shape) -> RFStep:
        top, left = self.origin(a, ins[0])
        return RFStep((1, 1), (1, 1), (-top, -left))

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc import torch_modules as tm

        top, left = self.origin(a, ins[0])
        return tm.Crop(top, left, a["size"][0], a["size"][1])

    def torch_import(self) -> tuple:
        from archcalc import torch_modules as tm
        from archcalc.importer.rules import ImportRule

        def read(call) -> dict:
            m = call.module
            return {"size": [m.height, m.width], "offset": [m.top, m.left]}

        return (ImportRule(self.name, modules=(tm.Crop,), read=read),)


@register
class Slice(LayerType):
    name = "slice"
    summary = "elements start .. end - 1 along one axis (default channels), like torch.narrow"
    category = "structure"
    attrs = (
        Attr("axis", Int(0), 0, "axis of the sample, not counting the batch"),
        Attr("start", Int(0), 0, "first element kept"),
        Attr("end", Int(), None, "one past the last element kept; default: the axis size"),
    )

    def bounds(self, a: Attrs, in_shape: Shape) -> tuple[int, int, int]:
        axis = a["axis"]
        if axis >= len(in_shape):
            raise ArchcalcError(f"slice: axis {axis} is out of range for shape {list(in_shape)}")
        end = in_shape[axis] if a["end"] is None else a["end"]
        if not a["start"] < end <= in_shape[axis]:
            raise ArchcalcError(
                f"slice: elements {a['start']}..{end - 1} do not fit axis {axis} of size {in_shape[axis]}"
            )
        return axis, a["start"], end

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        axis, start, end = self.bounds(a, ins[0])
        return ins[0][:axis] + (end - start,) + ins[0][axis + 1 :]

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        axis, start, end = self.bounds(a, ins[0])
        names = axis_names(len(ins[0]))
        return [
            Formula(f"{name}_out", Term("end", end) - Term("start", start) if index == axis else Term(name, size))
            for index, (name, size) in enumerate(zip(names, ins[0]))
        ]

    def receptive_field(self, a: Attrs, ins: list[Shape], out: Shape) -> RFStep:
        axis, start, _ = self.bounds(a, ins[0])
        if axis == 0:
            return IDENTITY
        return RFStep((1, 1), (1, 1), (-start, 0) if axis == 1 else (0, -start))

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc import torch_modules as tm

        axis, start, end = self.bounds(a, ins[0])
        return tm.Narrow(axis + 1, start, end - start)

    def torch_import(self) -> tuple:
        """archcalc's Narrow module and torch.narrow / Tensor.narrow on a sample axis."""
        import torch

        from archcalc import torch_modules as tm
        from archcalc.importer.rules import CannotMap, ImportRule

        def span(dim: int, start: int, length: int, rank: int) -> dict:
            if dim % (rank + 1) == 0:
                raise CannotMap("narrows the batch axis")
            return {"axis": dim % (rank + 1) - 1, "start": start, "end": start + length}

        def module(call) -> dict:
            m = call.module
            return span(m.dim, m.start, m.length, len(call.in_shapes[0]))

        def function(call) -> dict:
            b = call.bind("input", "dim", "start", "length")
            return span(b["dim"], b["start"], b["length"], len(call.in_shapes[0]))

        return (ImportRule(self.name, modules=(tm.Narrow,), read=module),
                ImportRule(self.name, functions=(torch.narrow, torch.Tensor.narrow), read=function))  # fmt: skip
