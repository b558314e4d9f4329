"""Data movement: stack (torch.stack along a new axis), expand (x.expand(sizes)) and expand_as (x.expand_as(y)).

    {type: stack, axis: 0, inputs: [a, b]}      torch.stack([a, b], dim=1): [C, H, W] twice -> [2, C, H, W]
    {type: expand_as, inputs: [x, like]}        x.expand_as(like): [C, 1, 1] -> like's [C, H, W]
    {type: expand, shape: [C, H, W]}            x.expand(B, C, H, W) or x.expand(-1, -1, H, W) from [C, 1, 1]
    {type: expand, shape: [nW, h, w, C]}        q.repeat_interleave(nW, dim=0) from [B, h, w, C] (GCViT)

stack: the inputs, all of one shape, side by side along a new axis (`axis`: where it goes in the output
sample, not counting the batch; SKNet's kernel paths before their sum). expand_as: the first input repeated
along its size-1 axes to the second input's shape, which it reads for its shape only (ECA's and MobileViTv2's
`x * y.expand_as(x)`); expand repeats it to `shape` (the sample's: EvoNorm's `std.expand(x.shape)`), which, as
in torch, may add leading axes. `repeat_interleave(r, dim=0)` on a batch-in-front tensor is one: it makes
[B·r, ...] with each sample's r copies together, so the importer follows the batch as merged into axis 0
(importer/layout.py) and each sample is its input expanded along a new leading axis of r (GCViT's global
query, repeated for each of the image's windows). All three only move data:

    params 0, MACs 0, flops 0, connections 0
    receptive field: None for stack (the new axis is not a spatial one); expand and expand_as keep positions
    when the shapes are equal (identity) and otherwise end the field (an expanded axis repeats one position)

Peers: no tool counts them (fvcore and FlopCounterMode have no handle for aten::stack / expand / expand_as,
ptflops patches neither, thop and torchinfo see no module with parameters).
"""

from __future__ import annotations

from archcalc.errors import ArchcalcError
from archcalc.layers.attrs import Attr, Int, IntList
from archcalc.layers.base import IDENTITY, Attrs, LayerType, Shape, register
from archcalc.layers.elementwise import broadcast
from archcalc.layers.formula import Const, Formula, counts
from archcalc.layers.imports import CannotMap, ImportRule


@register
class Stack(LayerType):
    name = "stack"
    summary = "its inputs, of one shape, side by side along a new axis (torch.stack)"
    category = "structure"
    data_movement = True
    min_inputs = 1
    max_inputs = None
    attrs = (Attr("axis", Int(None), 0, "where the new axis goes in the output sample (not counting the batch)"),)
    calls = {"function": "torch.stack([a, b], dim)"}

    def position(self, a: Attrs, ins: list[Shape]) -> int:
        rank = len(ins[0]) + 1
        if not -rank <= a["axis"] < rank:
            raise ArchcalcError(f"stack: axis {a['axis']} is out of range for a stacked rank of {rank}")
        return a["axis"] % rank

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        if any(shape != ins[0] for shape in ins):
            raise ArchcalcError(f"stack: input shapes {' and '.join(str(list(s)) for s in ins)} differ")
        axis = self.position(a, ins)
        return ins[0][:axis] + (len(ins),) + ins[0][axis:]

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        axis = self.position(a, ins)
        return [Formula(f"d{index}_out", Const(size), "the number of inputs" if index == axis else "")
                for index, size in enumerate(out)]  # fmt: skip

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        return counts(notes={"FLOPs": "only moves data"})

    def receptive_field(self, a: Attrs, ins: list[Shape], out: Shape) -> None:
        return None

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc import torch_pointwise as tp

        return tp.Stack(self.position(a, ins) + 1)

    def torch_import(self) -> tuple:
        import torch

        from archcalc import torch_pointwise as tp

        def read(call) -> dict:
            b = call.bind("tensors", "dim", "out", dim=0, out=None)
            if b["out"] is not None:
                raise CannotMap("writes to out=")
            return {"axis": call.axis(b["dim"], len(call.in_shapes[0]) + 2)}

        return (ImportRule(self.name, modules=(tp.Stack,), read=lambda call: {"axis": call.module.dim - 1}),
                ImportRule(self.name, functions=(torch.stack,), read=read, note="along a sample axis"))


@register
class ExpandAs(LayerType):
    name = "expand_as"
    summary = "the first input repeated along its size-1 axes to the second input's shape (x.expand_as(y))"
    category = "structure"
    data_movement = True
    min_inputs = 2
    max_inputs = 2
    calls = {"method": "x.expand_as(y)"}

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        if len(ins[0]) > len(ins[1]) or broadcast(self.name, ins) != tuple(ins[1]):
            raise ArchcalcError(f"expand_as: shape {list(ins[0])} does not expand to {list(ins[1])}")
        return ins[1]

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        return [Formula(f"d{index}_out", Const(size), "the second input's") for index, size in enumerate(out)]

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        return counts(notes={"FLOPs": "only moves data"})

    def receptive_field(self, a: Attrs, ins: list[Shape], out: Shape):
        return IDENTITY if ins[0] == ins[1] else None

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc import torch_pointwise as tp

        return tp.ExpandAs()

    def torch_import(self) -> tuple:
        import torch

        from archcalc import torch_pointwise as tp

        def read(call) -> dict:
            call.bind("input", "other")
            return {}

        return (ImportRule(self.name, modules=(tp.ExpandAs,)),
                ImportRule(self.name, functions=(torch.Tensor.expand_as,), read=read,
                           when=lambda call: len(call.in_shapes) == 2))  # fmt: skip


@register
class Expand(LayerType):
    name = "expand"
    summary = "the input repeated along its size-1 axes to `shape` (x.expand(sizes))"
    category = "structure"
    data_movement = True
    attrs = (Attr("shape", IntList(), doc="the output shape without the batch axis (the input's rank, or more: "
                                          "new leading axes)"),)
    calls = {"method": "x.expand(B, C, H, W)"}

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        target = tuple(a["shape"])
        if len(ins[0]) > len(target) or broadcast(self.name, [ins[0], target]) != target:
            raise ArchcalcError(f"expand: shape {list(ins[0])} does not expand to {list(target)}")
        return target

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        return [Formula(f"d{index}_out", Const(size), "the shape attribute") for index, size in enumerate(out)]

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        return counts(notes={"FLOPs": "only moves data"})

    def receptive_field(self, a: Attrs, ins: list[Shape], out: Shape):
        return IDENTITY if ins[0] == out else None

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc import torch_pointwise as tp

        return tp.Expand(tuple(a["shape"]))

    def torch_import(self) -> tuple:
        import torch

        from archcalc import torch_pointwise as tp

        def read(call) -> dict:
            if len(call.out_shape) != len(call.in_shapes[0]):
                raise CannotMap("adds leading axes in front of the batch")
            return {"shape": list(call.out_shape)}

        def repeated(call) -> dict:
            """Per sample (layout.py merged the batch into axis 0), [r, *input]: r copies of the sample."""
            if tuple(call.out_shape[1:]) != tuple(call.in_shapes[0]):
                raise CannotMap("repeats the elements of a sample axis (only whole samples, dim=0, are followed)")
            return {"shape": list(call.out_shape)}

        return (ImportRule(self.name, modules=(tp.Expand,), read=lambda call: {"shape": list(call.module.shape)}),
                ImportRule(self.name, functions=(torch.Tensor.expand,), read=read, note="keeping the batch axis"),
                ImportRule(self.name, functions=(torch.Tensor.repeat_interleave,),
                           read=repeated, note="of the batch axis: each sample r times along a new axis"))
