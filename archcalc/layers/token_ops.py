"""Taking tokens out of a sequence: select one index along an axis (averaging an axis away is `mean`, in
reduce.py).

select (x[:, i] or x.select(dim, i): the axis disappears; ViT's class token is select axis 0, index 0)
    only selects data: no FLOPs, no connections

Receptive field: None (a token axis is not a spatial map).
"""

from __future__ import annotations

import operator

from archcalc.errors import ArchcalcError
from archcalc.layers.attrs import Attr, Int
from archcalc.layers.base import Attrs, LayerType, Shape, register
from archcalc.layers.embedding import token_names
from archcalc.layers.formula import Formula, Term, counts
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
