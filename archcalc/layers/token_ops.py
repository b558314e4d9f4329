"""Taking tokens out of a sequence: select one index along an axis, or average an axis away.

select (x[:, i] or x.select(dim, i): the axis disappears; ViT's class token is select axis 0, index 0)
    only selects data: no FLOPs, no connections
mean (x.mean(dim): average over one axis, kept as size 1 with keepdim; mean pooling of tokens)
    flops        numel(in): per output, N − 1 adds and 1 divide (N = the axis size)
    connections  numel(in): each output reads its N elements

Receptive field: None (a token axis is not a spatial map; over the channels of a map, a mean keeps the
positions: identity).
"""

from __future__ import annotations

import operator

from archcalc.errors import ArchcalcError
from archcalc.layers.attrs import Attr, Bool, Int
from archcalc.layers.base import IDENTITY, Attrs, LayerType, Shape, numel, register
from archcalc.layers.embedding import token_names
from archcalc.layers.formula import Formula, Term, counts, product
from archcalc.layers.imports import CannotMap, ImportRule


def _axis(layer: str, axis: int, shape: Shape) -> int:
    if not -len(shape) <= axis < len(shape):
        raise ArchcalcError(f"{layer}: axis {axis} is out of range for shape {list(shape)}")
    return axis % len(shape)


def _names(shape: Shape) -> tuple[str, ...]:
    return token_names(len(shape)) if len(shape) <= 3 else tuple(f"d{i}" for i in range(len(shape)))


def _getitem_index(call) -> dict:
    """x[:, i], x[:, :, i], x[..., i]: one integer index on a sample axis, full slices elsewhere."""
    index = call.args[1] if len(call.args) > 1 else None
    rank = len(call.in_shapes[0])
    items = list(index) if isinstance(index, tuple) else [index]
    full = slice(None)
    if Ellipsis in items:
        at = items.index(Ellipsis)
        items = items[:at] + [full] * (rank + 1 - (len(items) - 1)) + items[at + 1 :]
    ints = [position for position, item in enumerate(items) if isinstance(item, int) and not isinstance(item, bool)]
    if len(ints) != 1 or any(item != full for position, item in enumerate(items) if position != ints[0]):
        raise CannotMap("indexes with something other than one integer (or one slice, step 1) and full slices")
    if ints[0] == 0:
        raise CannotMap("indexes the batch axis")
    return {"axis": ints[0] - 1, "index": items[ints[0]]}


def _not_a_slice(call) -> bool:
    """Any index but slices (x[:, :8] is the slice type's, x[..., :h, :w] crop's): select reads it or says why
    not."""
    from archcalc.layers.crop import plain_index

    return plain_index(call)


def _unbind(call) -> list[dict]:
    dim = call.kwargs.get("dim", call.args[1] if len(call.args) > 1 else 0)
    axis = call.axis(dim) % len(call.in_shapes[0])
    return [{"axis": axis, "index": index} for index in range(call.in_shapes[0][axis])]


@register
class Select(LayerType):
    name = "select"
    summary = "one index along an axis, which disappears (x[:, 0]: the class token of [L, E] tokens)"
    category = "structure"
    data_movement = True
    attrs = (Attr("axis", Int(None), 0, "axis of the sample, not counting the batch"),
             Attr("index", Int(None), 0, "the element kept (negative: from the end)"))  # fmt: skip

    def position(self, a: Attrs, shape: Shape) -> tuple[int, int]:
        axis = _axis(self.name, a["axis"], shape)
        if not -shape[axis] <= a["index"] < shape[axis]:
            raise ArchcalcError(f"select: index {a['index']} is outside axis {axis} of size {shape[axis]}")
        return axis, a["index"] % shape[axis]

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        axis, _ = self.position(a, ins[0])
        return ins[0][:axis] + ins[0][axis + 1 :]

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        axis, _ = self.position(a, ins[0])
        names = _names(ins[0])
        return [Formula(f"{name}_out", Term(name, size)) for index, (name, size) in enumerate(zip(names, ins[0]))
                if index != axis]  # fmt: skip

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        return counts(notes={"FLOPs": "only selects data"})

    def receptive_field(self, a: Attrs, ins: list[Shape], out: Shape) -> None:
        return None

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc import torch_tokens as tt

        axis, index = self.position(a, ins[0])
        return tt.Select(axis + 1, index)

    def torch_import(self) -> tuple:
        import torch

        from archcalc import torch_tokens as tt

        def function(call) -> dict:
            b = call.bind("input", "dim", "index")
            return {"axis": call.axis(b["dim"]), "index": b["index"]}

        return (ImportRule(self.name, modules=(tt.Select,),
                           read=lambda c: {"axis": c.module.dim - 1, "index": c.module.index}),
                ImportRule(self.name, functions=(torch.select, torch.Tensor.select), read=function),
                ImportRule(self.name, functions=(operator.getitem, torch.Tensor.__getitem__), read=_getitem_index,
                           when=_not_a_slice, note="x[:, i]: one integer index"),
                ImportRule(self.name, functions=(torch.unbind, torch.Tensor.unbind), read=_unbind, per_output=True,
                           note="unbind: one select per index"))  # fmt: skip


@register
class Mean(LayerType):
    name = "mean"
    summary = "average over one axis (x.mean(dim)): mean pooling of tokens"
    category = "pool"
    attrs = (Attr("axis", Int(None), 0, "axis of the sample, not counting the batch"),
             Attr("keepdim", Bool(), False, "keep the axis with size 1"))  # fmt: skip
    flops_rule = "in: N - 1 adds and 1 divide per output"
    connections_rule = "in"

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        axis = _axis(self.name, a["axis"], ins[0])
        return ins[0][:axis] + ((1,) if a["keepdim"] else ()) + ins[0][axis + 1 :]

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return numel(ins[0])

    def connections(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return numel(ins[0])

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        axis, names = _axis(self.name, a["axis"], ins[0]), _names(ins[0])
        shape = []
        for index, (name, size) in enumerate(zip(names, ins[0])):
            if index != axis:
                shape.append(Formula(f"{name}_out", Term(name, size)))
            elif a["keepdim"]:
                shape.append(Formula(f"{name}_out", Term("1", 1), "averaged, kept as 1"))
        return shape

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        every = product(Term(name, size) for name, size in zip(_names(ins[0]), ins[0]))
        return counts(flops=every, connections=every, notes={"FLOPs": "per output: N − 1 adds + 1 divide"})

    def receptive_field(self, a: Attrs, ins: list[Shape], out: Shape):
        return IDENTITY if len(ins[0]) > 1 and a["keepdim"] and _axis(self.name, a["axis"], ins[0]) == 0 else None

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc import torch_tokens as tt

        return tt.Mean(_axis(self.name, a["axis"], ins[0]) + 1, a["keepdim"])

    def torch_import(self) -> tuple:
        import torch

        from archcalc import torch_tokens as tt

        def one_axis(call) -> bool:
            dim = call.kwargs.get("dim", call.args[1] if len(call.args) > 1 else None)
            return isinstance(dim, int) or (isinstance(dim, (tuple, list)) and len(dim) == 1)

        def read(call) -> dict:
            b = call.bind("input", "dim", "keepdim", "dtype", keepdim=False, dtype=None)
            if b["dtype"] is not None:
                raise CannotMap("converts the dtype")
            dim = b["dim"] if isinstance(b["dim"], int) else b["dim"][0]
            return {"axis": call.axis(dim), "keepdim": bool(b["keepdim"])}

        return (ImportRule(self.name, modules=(tt.Mean,),
                           read=lambda c: {"axis": c.module.dim - 1, "keepdim": c.module.keepdim}),
                ImportRule(self.name, functions=(torch.mean, torch.Tensor.mean), read=read, when=one_axis,
                           note="over one axis"))  # fmt: skip
