"""Every s-th element along consecutive axes: x[:, ::s, ::s] (LeViT's Subsample, timm/models/levit.py 1.0.31,
keeps every second token of its [H, W, C] grid before the attention that shrinks it), from an offset:
x[:, 1::2, 0::2] (Swin's patch merging in Hugging Face's transformers takes the four interleaved sub-grids).

strided_slice on any shape: `steps` [s_1, ...] for the axes from `axis` on (batch excluded), `starts` [o_1, ...]
(default 0)
    shape        per strided axis: ceil((n − o) / s); the other axes unchanged
    flops, connections, params   0: it only selects
    RF           on a channels-first map (axis >= 1): a 1-wide window with stride s and offset o on those axes;
                 striding the channels (axis 0): none
"""

from __future__ import annotations

from archcalc.errors import ArchcalcError
from archcalc.layers.attrs import Attr, Int, IntList
from archcalc.layers.base import Attrs, LayerType, RFStep, Shape, axis_names, register
from archcalc.layers.formula import Formula, Term, ceil
from archcalc.layers.imports import ImportRule


def slice_items(call) -> list[slice] | None:
    """The index of x[...] as one slice per leading axis (batch first, `...` expanded), or None when it holds
    anything but slices (integers, tensors, None) or more items than axes."""
    index = call.args[1] if len(call.args) > 1 else None
    rank = len(call.in_shapes[0]) if call.in_shapes else 0
    items = list(index) if isinstance(index, tuple) else [index]
    full = slice(None)
    if items.count(Ellipsis) == 1:
        at = items.index(Ellipsis)
        items = items[:at] + [full] * (rank + 1 - (len(items) - 1)) + items[at + 1 :]
    if not rank or len(items) > rank + 1 or not all(isinstance(item, slice) for item in items):
        return None
    return items


def strided(call) -> dict | None:
    """{"axis", "steps", "starts"} of an index made of full slices and `o::s` slices (stop left out, some s > 1, a
    start o >= 0 only where s > 1, the batch axis whole); None for any other index."""
    items = slice_items(call)
    if items is None or items[0] != slice(None) or any(item.stop is not None for item in items):
        return None
    steps = [1 if item.step is None else item.step for item in items[1:]]
    starts = [item.start or 0 for item in items[1:]]
    if not all(isinstance(n, int) and not isinstance(n, bool) for n in steps + starts):
        return None
    if min(steps, default=1) < 1 or max(steps, default=1) == 1 or min(starts, default=0) < 0:
        return None
    if any(start and step == 1 for start, step in zip(starts, steps)):
        return None  # x[:, 1:, ::2]: a plain slice too, which this type does not take
    first = next(position for position, step in enumerate(steps) if step > 1)
    last = max(position for position, step in enumerate(steps) if step > 1)
    offsets = starts[first : last + 1]
    return {"axis": first, "steps": steps[first : last + 1], "starts": offsets if any(offsets) else None}


@register
class StridedSlice(LayerType):
    name = "strided_slice"
    summary = "every s-th element along consecutive axes (x[:, ::2, ::2], LeViT's Subsample)"
    category = "structure"
    data_movement = True
    attrs = (
        Attr("axis", Int(0), 0, "the first strided axis of the sample, not counting the batch"),
        Attr("steps", IntList(), doc="the step s of each axis from `axis` on"),
        Attr("starts", IntList(0), None, "the first element o taken on each of those axes (x[:, 1::2]: 1); "
                                         "default 0"),
    )

    def offsets(self, a: Attrs) -> list[int]:
        starts = a["starts"] if a["starts"] is not None else [0] * len(a["steps"])
        if len(starts) != len(a["steps"]):
            raise ArchcalcError(f"strided_slice: {len(starts)} starts for {len(a['steps'])} steps")
        return list(starts)

    def axes(self, a: Attrs, shape: Shape) -> range:
        axes = range(a["axis"], a["axis"] + len(a["steps"]))
        if axes.stop > len(shape):
            raise ArchcalcError(f"strided_slice: {len(a['steps'])} steps from axis {a['axis']} do not fit shape "
                                f"{list(shape)}")  # fmt: skip
        return axes

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        axes, out = self.axes(a, ins[0]), list(ins[0])
        for axis, step, start in zip(axes, a["steps"], self.offsets(a)):
            if start >= out[axis]:
                raise ArchcalcError(f"strided_slice: start {start} leaves nothing of axis {axis} (size {out[axis]})")
            out[axis] = -(-(out[axis] - start) // step)
        return tuple(out)

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        steps = dict(zip(self.axes(a, ins[0]), zip(a["steps"], self.offsets(a))))

        def taken(axis: int, name: str, size: int):
            step, start = steps[axis]
            kept = Term(name, size) - Term(f"o_{name}", start) if start else Term(name, size)
            return ceil(kept / Term(f"s_{name}", step))

        return [Formula(f"{name}_out", taken(axis, name, size) if axis in steps else Term(name, size))
                for axis, (name, size) in enumerate(zip(axis_names(len(ins[0])), ins[0]))]  # fmt: skip

    def receptive_field(self, a: Attrs, ins: list[Shape], out: Shape) -> RFStep | None:
        if a["axis"] == 0:
            return None
        rank = len(ins[0]) - 1
        steps = dict(zip(self.axes(a, ins[0]), a["steps"]))
        starts = dict(zip(self.axes(a, ins[0]), self.offsets(a)))
        return RFStep((1,) * rank, tuple(steps.get(axis + 1, 1) for axis in range(rank)),
                      tuple(-starts.get(axis + 1, 0) for axis in range(rank)))  # fmt: skip

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc.torch_convs import StridedSlice as Module

        return Module(a["axis"] + 1, a["steps"], self.offsets(a))

    def torch_import(self) -> tuple:
        import operator

        import torch

        from archcalc.torch_convs import StridedSlice as Module

        return (ImportRule(self.name, modules=(Module,), read=lambda call: {"axis": call.module.dim - 1,
                                                                            "steps": call.module.steps,
                                                                            "starts": call.module.starts or None}),
                ImportRule(self.name, functions=(operator.getitem, torch.Tensor.__getitem__), read=strided,
                           when=lambda call: strided(call) is not None, note="x[:, ::s, o::s]: full slices with steps (and starts)"))
