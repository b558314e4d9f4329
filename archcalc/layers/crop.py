"""Taking part of a tensor: crop (a spatial window, U-Net's skips, FCN's final crop) and slice (a range
along one axis, ShuffleNet V2's channel split).

Both only select data: no parameters, no FLOPs, no connections.

crop (C x H x W -> C x h x w; any number of spatial axes: C x l, C x d x h x w)
    offset       (top, left); by default centred: top = floor((H - h) / 2), left = floor((W - w) / 2)
                 (U-Net's and the 3-D U-Net's crop-and-copy); Caffe's Crop layer in FCN gives it
                 explicitly (offset 19)
    RF           output (y, x) is input (y + top, x + left): a 1x1 window with padding -top, -left
slice (one axis, elements start .. end - 1; end defaults to the axis size)
    RF           channels (axis 0): identity; a spatial axis shifts like crop, by -start
"""

from __future__ import annotations

import operator

from archcalc.errors import ArchcalcError
from archcalc.layers.attrs import Attr, AxisSizes, Int, per_axis
from archcalc.layers.base import IDENTITY, Attrs, LayerType, RFStep, Shape, axis_names, axis_word, register, spatial_names
from archcalc.layers.formula import Formula, Term
from archcalc.layers.imports import CannotMap, ImportRule
from archcalc.layers.structure import keeps_everything, new_axes


_AXIS_ROWS = {1: ("positions",), 2: ("rows", "columns"), 3: ("slices", "rows", "columns")}


@register
class Crop(LayerType):
    name = "crop"
    summary = "spatial crop to h x w (l; d x h x w) at an offset (centred by default)"
    category = "structure"
    data_movement = True
    attrs = (
        Attr("size", AxisSizes(), doc="output size per spatial axis: [h, w] for an image"),
        Attr("offset", AxisSizes(0), None, "start per spatial axis (top and left); default: centred (rounding down)"),
    )

    def window(self, a: Attrs, in_shape: Shape) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """(origin, size) per spatial axis."""
        rank = len(in_shape) - 1
        if not 1 <= rank <= 3:
            raise ArchcalcError(f"crop needs a [C, L], [C, H, W] or [C, D, H, W] input, got shape {list(in_shape)}")
        size = per_axis(self.name, "size", a["size"], rank)
        if a["offset"] is not None:
            return per_axis(self.name, "offset", a["offset"], rank), size
        return tuple((available - length) // 2 for available, length in zip(in_shape[1:], size)), size

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        origin, size = self.window(a, ins[0])
        rank = len(size)
        for axis, (length, start, available) in enumerate(zip(size, origin, ins[0][1:])):
            if start < 0 or start + length > available:
                name = axis_word(rank + 1, axis)
                raise ArchcalcError(
                    f"crop: a {name} window of {length} at offset {start} does not fit the input {name} {available}"
                )
        return (ins[0][0],) + size

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        origin, size = self.window(a, ins[0])
        rank = len(size)
        return [Formula("C_out", Term("C", ins[0][0]))] + [
            Formula(f"{name}_out", Term(name.lower(), length),
                    f"{what} {start} .. {start + length - 1} of {available}")
            for name, what, length, start, available in zip(spatial_names(rank), _AXIS_ROWS[rank], size, origin,
                                                            ins[0][1:])
        ]  # fmt: skip

    def receptive_field(self, a: Attrs, ins: list[Shape], out: Shape) -> RFStep:
        origin, size = self.window(a, ins[0])
        return RFStep((1,) * len(size), (1,) * len(size), tuple(-start for start in origin))

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc import torch_modules as tm

        return tm.Crop(*self.window(a, ins[0]))

    def torch_import(self) -> tuple:
        import torch

        from archcalc import torch_modules as tm

        def read(call) -> dict:
            return {"size": list(call.module.size), "offset": list(call.module.origin)}

        return (ImportRule(self.name, modules=(tm.Crop,), read=read),
                ImportRule(self.name, functions=(operator.getitem, torch.Tensor.__getitem__), read=cropped,
                           when=lambda call: cropped(call, check=False) is not None,
                           note="x[..., a:b, c:d]: slices of the spatial axes"))


@register
class Slice(LayerType):
    name = "slice"
    calls = {"method": "x.chunk(n, dim)[k] or x[:, a:b] (a Tensor method or indexing)"}
    data_movement = True
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
        rank = len(ins[0]) - 1
        return RFStep((1,) * rank, (1,) * rank, tuple(-start if index == axis - 1 else 0 for index in range(rank)))

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc import torch_modules as tm

        axis, start, end = self.bounds(a, ins[0])
        return tm.Narrow(axis + 1, start, end - start)

    def torch_import(self) -> tuple:
        """archcalc's Narrow module and torch.narrow / Tensor.narrow on a sample axis."""
        import torch

        from archcalc import torch_modules as tm

        def span(dim: int, start: int, length: int, rank: int) -> dict:
            if dim % (rank + 1) == 0:
                raise CannotMap("narrows the batch axis")
            return {"axis": dim % (rank + 1) - 1, "start": start, "end": start + length}

        def module(call) -> dict:
            m = call.module
            return span(m.dim, m.start, m.length, len(call.in_shapes[0]))

        def function(call) -> dict:
            b = call.bind("input", "dim", "start", "length")
            if call.batch_axis or call.batch_merged:  # the batch is not in front (importer/layout.py)
                axis = call.axis(b["dim"]) % len(call.in_shapes[0])
                return {"axis": axis, "start": b["start"], "end": b["start"] + b["length"]}
            return span(b["dim"], b["start"], b["length"], len(call.in_shapes[0]))

        def pieces(call) -> list[dict]:
            """torch.chunk / split: one slice per piece, from the pieces' traced sizes."""
            dim = call.kwargs.get("dim", call.args[2] if len(call.args) > 2 else 0)
            axis = call.axis(dim)
            axis %= len(call.in_shapes[0])
            start, out = 0, []
            for shape in call.out_shapes:
                out.append({"axis": axis, "start": start, "end": start + shape[axis]})
                start += shape[axis]
            if start != call.in_shapes[0][axis]:
                raise CannotMap("the pieces do not cover the axis")
            return out

        def indexed(call) -> dict:
            """x[:, a:b], x[..., a:b]: one slice with step 1 on a sample axis, full slices elsewhere (timm's
            GhostNet and ReXNet keep the first channels this way)."""
            axis, bounds = sliced_axis(call)
            start, end, _ = bounds.indices(call.in_shapes[0][axis])
            return {"axis": axis, "start": start, "end": end}

        splits = (torch.chunk, torch.Tensor.chunk, torch.split, torch.Tensor.split)
        return (ImportRule(self.name, modules=(tm.Narrow,), read=module),
                ImportRule(self.name, functions=(torch.narrow, torch.Tensor.narrow), read=function),
                ImportRule(self.name, functions=splits, read=pieces, per_output=True,
                           note="chunk and split: one slice per piece"),
                ImportRule(self.name, functions=(operator.getitem, torch.Tensor.__getitem__), read=indexed,
                           # a slice keeping everything (HF's logits_to_keep=0) is the identity, at any length
                           when=lambda call: sliced_axis(call, check=False) is not None and not keeps_everything(call),
                           note="x[:, a:b]: one slice, step 1"))  # fmt: skip


def sliced_axes(call) -> list | None:
    """[(sample axis, slice), ...] for an index made of slices with step 1 (x[:, a:b], x[..., :h, :w]), the
    cut axes only; None for any other index (integers, tensors, None, steps, the batch axis cut)."""
    from archcalc.layers.strided_slice import slice_items

    items, full = slice_items(call), slice(None)
    if items is None:
        return None
    cut = [(position - 1, item) for position, item in enumerate(items) if item != full]
    if not cut or cut[0][0] < 0 or any(item.step not in (None, 1) or not all(
            isinstance(v, (int, type(None))) for v in (item.start, item.stop)) for _, item in cut):  # fmt: skip
        return None
    return cut


def sliced_axis(call, check: bool = True):
    """(sample axis, the slice) of an index that slices one axis with step 1 and keeps the others whole;
    None (or CannotMap with `check`) for any other index."""
    cut = sliced_axes(call)
    if cut is None or len(cut) != 1:
        if check:
            raise CannotMap("indexes with something other than one slice (step 1) on a sample axis")
        return None
    return cut[0]


def cropped(call, check: bool = True) -> dict | None:
    """x[..., :h, :w] (timm's CPUBone and LowFormer crop an upsampled map back): slices of two or more
    spatial axes, channels kept whole, as a crop's size and offset."""
    cut = sliced_axes(call)
    shape = call.in_shapes[0] if call.in_shapes else ()
    if cut is None or len(cut) < 2 or cut[0][0] == 0 or len(shape) < 2:
        if check:
            raise CannotMap("indexes with something other than slices of the spatial axes")
        return None
    bounds = {axis: item.indices(shape[axis])[:2] for axis, item in cut}
    spans = [bounds.get(axis, (0, shape[axis])) for axis in range(1, len(shape))]
    return {"size": [end - start for start, end in spans], "offset": [start for start, _ in spans]}


def plain_index(call) -> bool:
    """An index that neither slice, crop, reshape nor strided_slice reads (select reads it, or says why not)."""
    from archcalc.layers.strided_slice import strided

    return (sliced_axis(call, check=False) is None and cropped(call, check=False) is None and not new_axes(call)
            and strided(call) is None)

