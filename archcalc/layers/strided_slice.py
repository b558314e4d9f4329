"""Every s-th element along consecutive axes: x[:, ::s, ::s] (LeViT's Subsample, timm/models/levit.py 1.0.31,
keeps every second token of its [H, W, C] grid before the attention that shrinks it).

strided_slice on any shape: `steps` [s_1, ...] for the axes from `axis` on (batch excluded)
    shape        per strided axis: ceil(n / s); the other axes unchanged
    flops, connections, params   0: it only selects
    RF           on a channels-first map (axis >= 1): a 1-wide window with stride s on those axes; striding
                 the channels (axis 0): none
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
    """{"axis", "steps"} of an index made of full slices and `::s` slices (start and stop left out, some s > 1,
    the batch axis whole); None for any other index."""
    items = slice_items(call)
    if items is None or items[0] != slice(None) or any(item.start is not None or item.stop is not None for item in items):
        return None
    steps = [1 if item.step is None else item.step for item in items[1:]]
    if not all(isinstance(step, int) and step >= 1 for step in steps) or max(steps, default=1) == 1:
        return None
    first = next(position for position, step in enumerate(steps) if step > 1)
    last = max(position for position, step in enumerate(steps) if step > 1)
    return {"axis": first, "steps": steps[first : last + 1]}


@register
class StridedSlice(LayerType):
    name = "strided_slice"
    summary = "every s-th element along consecutive axes (x[:, ::2, ::2], LeViT's Subsample)"
    category = "structure"
    data_movement = True
    attrs = (
        Attr("axis", Int(0), 0, "the first strided axis of the sample, not counting the batch"),
        Attr("steps", IntList(), doc="the step s of each axis from `axis` on"),
    )

    def axes(self, a: Attrs, shape: Shape) -> range:
        axes = range(a["axis"], a["axis"] + len(a["steps"]))
        if axes.stop > len(shape):
            raise ArchcalcError(f"strided_slice: {len(a['steps'])} steps from axis {a['axis']} do not fit shape "
                                f"{list(shape)}")  # fmt: skip
        return axes

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        axes, out = self.axes(a, ins[0]), list(ins[0])
        for axis, step in zip(axes, a["steps"]):
            out[axis] = -(-out[axis] // step)
        return tuple(out)

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        steps = dict(zip(self.axes(a, ins[0]), a["steps"]))
        return [Formula(f"{name}_out", ceil(Term(name, size) / Term(f"s_{name}", steps[axis])) if axis in steps
                        else Term(name, size)) for axis, (name, size) in enumerate(zip(axis_names(len(ins[0])), ins[0]))]

    def receptive_field(self, a: Attrs, ins: list[Shape], out: Shape) -> RFStep | None:
        if a["axis"] == 0:
            return None
        rank = len(ins[0]) - 1
        steps = dict(zip(self.axes(a, ins[0]), a["steps"]))
        return RFStep((1,) * rank, tuple(steps.get(axis + 1, 1) for axis in range(rank)))

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc.torch_convs import StridedSlice as Module

        return Module(a["axis"] + 1, a["steps"])

    def torch_import(self) -> tuple:
        import operator

        import torch

        from archcalc.torch_convs import StridedSlice as Module

        return (ImportRule(self.name, modules=(Module,), read=lambda call: {"axis": call.module.dim - 1,
                                                                            "steps": call.module.steps}),
                ImportRule(self.name, functions=(operator.getitem, torch.Tensor.__getitem__), read=strided,
                           when=lambda call: strided(call) is not None, note="x[:, ::s, ::s]: full slices with steps"))
