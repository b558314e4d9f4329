"""A block of a tensor overwritten in place: `x[:, :, a:, b:] = y` (torch.Tensor.__setitem__), as MViTv2 writes the
grid scores plus their decomposed relative positions back into the attention matrix (timm 1.0.31 mvitv2.py,
`cal_rel_pos_type`: `attn[:, :, sp_idx:, sp_idx:] = (...).view(B, -1, q_h * q_w, k_h * k_w)`, sp_idx = 1 after a
class token, 0 without).

slice_scatter  inputs x and y; y fills the block of x that starts at `starts` (one offset per sample axis) and
               has y's shape; the rest of x is kept
    output       x's shape (the tensor written to: the importer follows the write as a new value of x)
    params, macs, flops, connections   0: it only moves data (torch: aten::slice and aten::copy_, which no peer
                 counts: fvcore has no handle, FlopCounterMode registers neither, ptflops, thop and torchinfo see
                 no module)
    y must fit: starts_i + y_i <= x_i on every axis (torch would broadcast a smaller y into the block; the import
    takes only a y of the block's own shape)

Receptive field: the positions of y move by the offsets: none (the field ends) unless every offset is 0.
"""

from __future__ import annotations

from archcalc.errors import ArchcalcError
from archcalc.layers.attrs import Attr, IntList
from archcalc.layers.base import IDENTITY, Attrs, LayerType, Shape, register, same_shape
from archcalc.layers.formula import Formula
from archcalc.layers.imports import CannotMap, ImportRule


@register
class SliceScatter(LayerType):
    name = "slice_scatter"
    summary = "x with a block overwritten by y: x[:, a:, b:] = y (Tensor.__setitem__, MViTv2's relative positions)"
    category = "structure"
    data_movement = True
    min_inputs = max_inputs = 2
    attrs = (Attr("starts", IntList(0), None, "where y's block starts on each sample axis; default all 0"),)

    def starts(self, a: Attrs, x: Shape) -> tuple[int, ...]:
        starts = tuple(a["starts"]) if a["starts"] is not None else (0,) * len(x)
        if len(starts) != len(x):
            raise ArchcalcError(f"slice_scatter: {len(starts)} starts for an input of {len(x)} axes {list(x)}")
        return starts

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        x, y = ins
        starts = self.starts(a, x)
        if len(y) != len(x) or any(s + n > size for s, n, size in zip(starts, y, x)):
            raise ArchcalcError(f"slice_scatter: a block {list(y)} at {list(starts)} does not fit in {list(x)}")
        return x

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        return same_shape(ins[0])

    def receptive_field(self, a: Attrs, ins: list[Shape], out: Shape):
        return IDENTITY if not any(self.starts(a, ins[0])) else None

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc import torch_attention as ta

        return ta.SliceScatter(list(self.starts(a, ins[0])))

    def torch_import(self) -> tuple:
        import operator

        import torch

        from archcalc import torch_attention as ta

        return (ImportRule(self.name, modules=(ta.SliceScatter,), read=lambda call: {"starts": call.module.starts}),
                ImportRule(self.name, functions=(operator.setitem, torch.Tensor.__setitem__), read=_read,
                           note="x[:, a:, b:] = y: slices of step 1, y of the block's shape"))  # fmt: skip


def _read(call) -> dict:
    """The offsets of `x[index] = y`: slices of step 1 on the sample axes (the batch axis whole), y the block."""
    if len(call.args) != 3 or call.kwargs or len(call.in_shapes) != 2:
        raise CannotMap("writes something other than a layer output into a layer output")
    x, y = call.in_shapes
    index = call.args[1]
    rank = len(x) + (not call.batch_merged)  # the tensor's axes: the batch's own axis, or merged into one
    items = list(index) if isinstance(index, tuple) else [index]
    if items.count(Ellipsis) == 1:
        at = items.index(Ellipsis)
        items = items[:at] + [slice(None)] * (rank + 1 - len(items)) + items[at + 1 :]
    items += [slice(None)] * (rank - len(items))
    batch = call.batch_axis
    if len(items) != rank or not all(isinstance(item, slice) for item in items) or items[batch] != slice(None):
        raise CannotMap("writes through an index other than slices (the batch axis whole)")
    if not call.batch_merged:
        items = items[:batch] + items[batch + 1 :]
    starts, block = [], []
    for item, size in zip(items, x):
        start, stop, step = item.indices(size)
        if step != 1:
            raise CannotMap("writes through a slice with a step")
        starts.append(start)
        block.append(max(stop - start, 0))
    if tuple(block) != tuple(y):
        raise CannotMap(f"writes {list(y)} into a block {block}: torch broadcasts it, archcalc takes the block's shape")
    return {"starts": starts}
