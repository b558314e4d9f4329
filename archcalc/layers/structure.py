"""Data movement: identity, dropout (dropout1d, dropout2d, dropout3d: whole channels, as torch's
Dropout1d/2d/3d; alpha_dropout), flatten, reshape and concat.

They only move data (every dropout is the identity at inference): no FLOPs and no connections.

    receptive field: concat along the channels merges its inputs' fields (see analysis/receptive.py);
                     along a spatial axis it ends the field (None), as flatten and a reshape that
                     changes the shape do.
    training         backward about the forward cost (the default rule): data movement moves the
                     gradient back.
"""


import operator

from archcalc.errors import ArchcalcError
from archcalc.layers.attrs import Attr, Float, Int, IntList
from archcalc.layers.base import (IDENTITY, Attrs, LayerType, Shape, axis_names, elements, numel, rank_text, register,
                                  register_ranks, require_rank, same_shape)  # fmt: skip
from archcalc.layers.formula import Const, Expr, Formula, Group, Term, product
from archcalc.layers.imports import CannotMap, ImportRule


def new_axes(call) -> bool:
    """x[:, None] (wav2vec2's `input_values[:, None]`): full slices and None only, the batch axis kept in
    front: new axes of size 1, an unsqueeze (reshape reads it from the traced shape)."""
    index = call.args[1] if len(call.args) > 1 else None
    items = list(index) if isinstance(index, tuple) else [index]
    return (any(item is None for item in items) and items[0] is not None
            and all(item is None or (isinstance(item, slice) and item == slice(None)) for item in items))  # fmt: skip


def keeps_everything(call) -> bool:
    """x[:, 0:, :], x[..., :]: an index of slices that all keep every element (Hugging Face's LM heads slice
    the hidden states with `slice(-logits_to_keep, None)`, which is 0: everything; Swin's and DaViT's
    `x[:, :H, :W, :]` after a padding of nothing stops at the axes' ends)."""
    index = call.args[1] if len(call.args) > 1 else None
    items = list(index) if isinstance(index, tuple) else [index]
    if len(call.in_shapes) != 1 or not items:
        return False
    # the axis each item cuts (the batch first, then the sample's): known only without an Ellipsis. One
    # bounded axis stays the slice type's (GhostNet's x[:, :out_chs] is a `slice`, whole or not).
    bounded = sum(isinstance(item, slice) and item.stop is not None for item in items)
    sizes = [None, *call.in_shapes[0]] if Ellipsis not in items and bounded > 1 else []
    return all(item is Ellipsis or (isinstance(item, slice) and item.start in (None, 0) and item.step in (None, 1)
                                    and (item.stop is None or (isinstance(item.stop, int) and position < len(sizes)
                                         and sizes[position] is not None and item.stop >= sizes[position])))
               for position, item in enumerate(items))  # fmt: skip


@register
class Identity(LayerType):
    name = "identity"
    data_movement = True
    summary = "passes its input through"
    category = "structure"

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from torch import nn

        return nn.Identity()

    def torch_import(self) -> tuple:
        import torch
        from torch import nn

        copies = (torch.Tensor.contiguous, torch.Tensor.clone, torch.clone, torch.Tensor.detach)
        read = lambda call: call.bind("input", "memory_format", memory_format=None) and {}  # noqa: E731
        lone = lambda call: call.bind("tensors", "dim", dim=0) and {}  # noqa: E731
        # x.to(dtype or device), x.float(): a cast moves data and counts nothing (T5's and CLIP's upcasts)
        casts = (torch.Tensor.to, torch.Tensor.float, torch.Tensor.type)
        return (ImportRule(self.name, modules=(nn.Identity,)), ImportRule(self.name, functions=copies, read=read),
                ImportRule(self.name, functions=casts, when=lambda call: len(call.in_shapes) == 1,
                           note="a dtype or device cast of one tensor"),
                ImportRule(self.name, functions=(operator.getitem, torch.Tensor.__getitem__), when=keeps_everything,
                           note="x[:, 0:]: slices that keep every element"),
                # GPT-2's `hidden_states.view(output_shape)`: a reshape to the shape it has is no reshape (and a
                # literal shape would tie the layer to one sequence length)
                ImportRule(self.name, functions=(torch.Tensor.view, torch.Tensor.reshape, torch.reshape),
                           when=lambda call: len(call.in_shapes) == 1 and call.in_shapes[0] == call.out_shape,
                           note="view / reshape to the shape it already has"),
                ImportRule(self.name, functions=(torch.cat, torch.concat), read=lone, note="of one tensor",
                           when=lambda call: len(call.in_shapes) == 1),
                # torchvision's MViT: `_unsqueeze(x, target_dim, dim)` adds an axis only to a smaller tensor
                ImportRule(self.name, foreign=("torchvision.models.video.mvit._unsqueeze",), note="a no-op",
                           when=lambda call: len(call.in_shapes[0]) + 1 == call.args[1]))  # fmt: skip


class _Dropout(LayerType):
    """Dropout of any kind: the identity at inference. `torch_names()` gives torch's module class and
    functional form; channel dropout (Dropout1d/2d/3d) checks its input's rank as torch does."""

    category = "structure"
    data_movement = True
    attrs = (Attr("p", Float(0.0, 1.0), 0.5, "drop probability"),)

    def torch_names(self) -> tuple[str, str]:
        return "Dropout", "dropout"

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        if self.spatial_rank is not None:
            require_rank(self.name, ins[0], self.spatial_rank + 1)
        return ins[0]

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from torch import nn

        return getattr(nn, self.torch_names()[0])(a["p"])

    def torch_import(self) -> tuple:
        from torch import nn
        from torch.nn import functional as F

        module, function = self.torch_names()

        def call(call) -> dict:
            return {"p": call.bind("input", "p", "training", "inplace", p=0.5, training=True, inplace=False)["p"]}

        return (ImportRule(self.name, modules=(getattr(nn, module),), read=lambda c: {"p": c.module.p}),
                ImportRule(self.name, functions=(getattr(F, function),), read=call))  # fmt: skip


@register
class Dropout(_Dropout):
    name = "dropout"
    summary = "dropout (identity at inference)"


class _ChannelDropout(_Dropout):
    """Dropout1d/2d/3d: whole channels dropped in training, the identity at inference."""

    family = "channel_dropout"
    attrs = (Attr("p", Float(0.0, 1.0), 0.5, "probability of dropping a whole channel"),)

    def torch_names(self) -> tuple[str, str]:
        return f"Dropout{self.spatial_rank}d", f"dropout{self.spatial_rank}d"


register_ranks(_ChannelDropout, {1: "dropout1d", 2: "dropout2d", 3: "dropout3d"}, {
    rank: f"channel dropout on {rank_text(rank + 1)} (torch's Dropout{rank}d; identity at inference)"
    for rank in (1, 2, 3)})


@register
class AlphaDropout(_Dropout):
    name = "alpha_dropout"
    summary = "alpha dropout for SELU networks (identity at inference)"

    def torch_names(self) -> tuple[str, str]:
        return "AlphaDropout", "alpha_dropout"


@register
class Flatten(LayerType):
    name = "flatten"
    calls = {"function": "torch.flatten", "method": "x.flatten"}
    data_movement = True
    summary = "flattens axes start..end of a sample into one (default: all)"
    category = "structure"
    attrs = (Attr("start", Int(None), 0, "first axis, not counting the batch"), Attr("end", Int(None), -1))

    def _range(self, a: Attrs, shape: Shape) -> tuple[int, int]:
        start, end = a["start"] % len(shape) if -len(shape) <= a["start"] < len(shape) else None, a["end"]
        end = end % len(shape) if -len(shape) <= end < len(shape) else None
        if start is None or end is None or start > end:
            raise ArchcalcError(f"flatten: axes {a['start']}..{a['end']} do not fit shape {list(shape)}")
        return start, end

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        start, end = self._range(a, ins[0])
        return ins[0][:start] + (numel(ins[0][start : end + 1]),) + ins[0][end + 1 :]

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        start, end = self._range(a, ins[0])
        terms = [Term(name, size) for name, size in zip(axis_names(len(ins[0])), ins[0])]
        merged = [product(terms[start : end + 1])]
        names = axis_names(len(out))
        return [Formula(f"{name}_out", term) for name, term in zip(names, terms[:start] + merged + terms[end + 1 :])]

    def receptive_field(self, a: Attrs, ins: list[Shape], out: Shape):
        return IDENTITY if out == ins[0] else None

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from torch import nn

        start, end = self._range(a, ins[0])
        return nn.Flatten(start + 1, end + 1)

    def torch_import(self) -> tuple:
        import torch
        from torch import nn

        def axes(call, start: int, end: int) -> dict:
            return {"start": call.axis(start), "end": call.axis(end)}

        def function(call) -> dict:
            b = call.bind("input", "start_dim", "end_dim", start_dim=0, end_dim=-1)
            return axes(call, b["start_dim"], b["end_dim"])

        return (
            ImportRule(self.name, modules=(nn.Flatten,), read=lambda c: axes(c, c.module.start_dim, c.module.end_dim)),
            ImportRule(self.name, functions=(torch.flatten, torch.Tensor.flatten), read=function),
        )  # fmt: skip


@register
class Reshape(LayerType):
    name = "reshape"
    data_movement = True
    summary = "reshapes a sample (one axis may be -1)"
    category = "structure"
    attrs = (Attr("shape", IntList(allow_minus_one=True), doc="target shape without the batch axis"),)

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        target, total = list(a["shape"]), numel(ins[0])
        if target.count(-1) > 1:
            raise ArchcalcError("reshape: only one axis may be -1")
        if -1 in target:
            known = numel(tuple(s for s in target if s != -1))
            if total % known:
                raise ArchcalcError(f"reshape: {total} elements do not fit shape {target}")
            target[target.index(-1)] = total // known
        if numel(tuple(target)) != total:
            raise ArchcalcError(f"reshape: {total} elements of {list(ins[0])} do not fit shape {target}")
        return tuple(target)

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        known = [Const(size) for size in a["shape"] if size != -1]
        shape = []
        for name, size in zip(axis_names(len(out)), a["shape"]):
            if size != -1:
                shape.append(Formula(f"{name}_out", Const(size)))
                continue
            rest = Group(product(known)) if len(known) > 1 else (known or [Const(1)])[0]
            shape.append(Formula(f"{name}_out", Group(elements(ins[0])) / rest, "-1: the elements left over"))
        return shape

    def receptive_field(self, a: Attrs, ins: list[Shape], out: Shape):
        return IDENTITY if out == ins[0] else None

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc import torch_modules as tm

        return tm.Reshape(out)

    def torch_import(self) -> tuple:
        """archcalc's Reshape, nn.Unflatten, view / reshape / squeeze / unsqueeze: the traced output shape
        (the importer checks that the batch axis stays first)."""
        import torch
        from torch import nn

        from archcalc import torch_modules as tm

        def function(call) -> dict:
            if any(isinstance(arg, torch.dtype) for arg in call.args[1:]):
                raise CannotMap("reinterprets the dtype")
            return {"shape": call.out_shape}

        methods = [getattr(owner, name) for owner in (torch, torch.Tensor)
                   for name in ("reshape", "view", "squeeze", "unsqueeze") if hasattr(owner, name)]  # fmt: skip
        return (
            ImportRule(self.name, modules=(tm.Reshape, nn.Unflatten), read=lambda call: {"shape": call.out_shape}),
            ImportRule(self.name, functions=tuple(methods), read=function),
            ImportRule(self.name, functions=(operator.getitem, torch.Tensor.__getitem__), when=new_axes,
                       read=function, note="x[:, None]: full slices and new axes"),
        )  # fmt: skip


@register
class Concat(LayerType):
    name = "concat"
    calls = {"function": "torch.cat"}
    data_movement = True
    summary = "concatenation along an axis (default channels)"
    category = "structure"
    min_inputs = 2
    max_inputs = None
    attrs = (Attr("axis", Int(None), 0, "axis of the sample, not counting the batch"),)

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        rank = len(ins[0])
        axis = a["axis"]
        if not -rank <= axis < rank:
            raise ArchcalcError(f"concat: axis {axis} is out of range for shape {list(ins[0])}")
        axis %= rank
        for other in ins[1:]:
            if len(other) != rank or any(x != y for i, (x, y) in enumerate(zip(ins[0], other)) if i != axis):
                raise ArchcalcError(
                    f"concat: input shapes {' and '.join(str(list(s)) for s in ins)} differ outside axis {axis}"
                )
        return ins[0][:axis] + (sum(s[axis] for s in ins),) + ins[0][axis + 1 :]

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        axis = a["axis"] % len(out)
        names = axis_names(len(out))
        shape = same_shape(ins[0])
        joined: Expr = Term(f"{names[axis]}_1", ins[0][axis])
        for index, other in enumerate(ins[1:], start=2):
            joined = joined + Term(f"{names[axis]}_{index}", other[axis])
        shape[axis] = Formula(f"{names[axis]}_out", joined, "the inputs' sizes along the joined axis")
        return shape

    def receptive_field(self, a: Attrs, ins: list[Shape], out: Shape):
        # Along the channels every position stays where it is; along a spatial axis the later inputs'
        # positions move by the earlier inputs' sizes: no single window describes that.
        return IDENTITY if a["axis"] % len(out) == 0 else None

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc import torch_modules as tm

        return tm.Concat(a["axis"] % len(ins[0]) + 1)

    def torch_import(self) -> tuple:
        import torch

        from archcalc import torch_modules as tm

        def function(call) -> dict:
            return {"axis": call.axis(call.bind("tensors", "dim", dim=0)["dim"])}

        return (
            ImportRule(self.name, modules=(tm.Concat,), read=lambda call: {"axis": call.axis(call.module.dim)}),
            ImportRule(self.name, functions=(torch.cat, torch.concat, torch.concatenate), read=function),
        )  # fmt: skip
