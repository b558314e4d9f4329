"""Reductions over given axes: mean, sum, var and amax (x.mean(dim), x.sum(dim), x.var(dim), x.amax(dim), one axis
or several).

    {type: mean}                          the first axis averaged away ([L, E] tokens -> [E])
    {type: mean, axis: [0, 1]}            x.mean((1, 2)) on channels-last [H, W, C] -> [C] (MambaOut)
    {type: sum, axis: 0}                  x.sum(1) on [R, C, H, W] -> [C, H, W] (ResNeSt's split attention)
    {type: sum, axis: -1, keepdim: true}  MobileViTv2's context vector

`axis` is one axis of the sample or a list of them (not counting the batch; negative counts from the end);
`keepdim` keeps each reduced axis with size 1. N is the number of elements reduced into one output.

mean (average; mean pooling of tokens)
    flops        numel(in): per output, N − 1 adds and 1 divide
    connections  numel(in): each output reads its N elements
sum
    flops        numel(in) − numel(out): per output, N − 1 adds
    connections  numel(in)
var (the variance, timm's EvoNorm group_std: `x.var(dim=(2, 3, 4), unbiased=False, keepdim=True)`; `correction`
    1 divides by N - 1, 0 by N: the same count)
    flops        4 * numel(in): per output, the mean (N − 1 adds + 1 divide), N subtractions, N squares,
                 N − 1 adds and 1 divide
    connections  numel(in)
amax (the maximum, Hiera's mask-unit pooling: `x.view(B, 4, -1, C).amax(dim=1)`)
    flops        numel(in) − numel(out): per output, N − 1 comparisons
    connections  numel(in)

Receptive field: None (a token axis is not a spatial map), except over the channels of a map with keepdim
(axis 0 alone), which keeps the positions: identity.

Peers: fvcore and torch's FlopCounterMode have no handle for aten::mean / sum / var / amax over given axes (0);
ptflops does not patch Tensor.mean / sum / var / amax (0); thop and torchinfo see no module with parameters (0). A mean
over every spatial axis of a map is global_avg_pool's (layers/pool_global.py), which the peers count.
"""

from __future__ import annotations

from typing import Any, Mapping

from archcalc.errors import ArchcalcError, brief
from archcalc.layers.attrs import _EXPR, Attr, Bool, Int, Kind, _as_int, _resolve
from archcalc.layers.base import IDENTITY, Attrs, LayerType, Shape, numel, register
from archcalc.layers.embedding import token_names
from archcalc.layers.formula import Const, Formula, Term, counts, product
from archcalc.layers.imports import CannotMap, ImportRule, readable


def Axes() -> Kind:
    """One axis (an int) or a list of distinct axes; negative counts from the end. Parsed to a tuple."""

    def parse(name: str, value: Any, scope: Mapping[str, Any]) -> tuple[int, ...]:
        value = _resolve(value, scope)
        items = list(value) if isinstance(value, (list, tuple)) else [value]
        if not items:
            raise ArchcalcError(f"attribute '{name}' needs at least one axis, got {brief(value)}")
        return tuple(_as_int(name, _resolve(item, scope), None) for item in items)

    def dump(value: tuple[int, ...]) -> Any:
        return value[0] if len(value) == 1 else list(value)

    one = {"oneOf": [{"type": "integer"}, _EXPR]}
    return Kind(parse, {"oneOf": [one, {"type": "array", "items": one, "minItems": 1}]},
                "integer or list of integers (axes of the sample)", dump)  # fmt: skip


def axes_of(layer: str, a: Attrs, shape: Shape) -> tuple[int, ...]:
    """The reduced axes, counted from the front, sorted; out of range or repeated: an error."""
    found = []
    for axis in a["axis"]:
        if not -len(shape) <= axis < len(shape):
            raise ArchcalcError(f"{layer}: axis {axis} is out of range for shape {list(shape)}")
        found.append(axis % len(shape))
    if len(set(found)) != len(found):
        raise ArchcalcError(f"{layer}: axis {list(a['axis'])} names an axis twice")
    return tuple(sorted(found))


def _names(shape: Shape) -> tuple[str, ...]:
    return token_names(len(shape)) if len(shape) <= 3 else tuple(f"d{i}" for i in range(len(shape)))


class _Reduce(LayerType):
    category = "pool"
    attrs = (Attr("axis", Axes(), (0,), "axis or list of axes of the sample, not counting the batch"),
             Attr("keepdim", Bool(), False, "keep each reduced axis with size 1"))  # fmt: skip
    connections_rule = "in"
    verb = ""

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        reduced = axes_of(self.name, a, ins[0])
        kept = [(1 if index in reduced else size) for index, size in enumerate(ins[0])
                if index not in reduced or a["keepdim"]]  # fmt: skip
        return tuple(kept)

    def connections(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return numel(ins[0])

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        reduced, names = axes_of(self.name, a, ins[0]), _names(ins[0])
        shape = []
        for index, (name, size) in enumerate(zip(names, ins[0])):
            if index not in reduced:
                shape.append(Formula(f"{name}_out", Term(name, size)))
            elif a["keepdim"]:
                shape.append(Formula(f"{name}_out", Term("1", 1), f"{self.verb}, kept as 1"))
        return shape

    def receptive_field(self, a: Attrs, ins: list[Shape], out: Shape):
        channels_only = axes_of(self.name, a, ins[0]) == (0,)
        return IDENTITY if len(ins[0]) > 1 and a["keepdim"] and channels_only else None

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc import torch_pointwise as tp
        from archcalc import torch_tokens as tt

        dims = tuple(axis + 1 for axis in axes_of(self.name, a, ins[0]))
        if self.name == "mean":
            return tt.Mean(dims[0] if len(dims) == 1 else dims, a["keepdim"])
        if self.name == "var":
            return tp.Var(dims, a["keepdim"], a["correction"])
        if self.name == "amax":
            return tp.Amax(dims, a["keepdim"])
        return tp.Sum(dims, a["keepdim"])

    def bound(self, call) -> tuple[Any, dict]:
        """(the dim argument, the other attributes) of a torch call; a CannotMap for what the type cannot say."""
        b = call.bind("input", "dim", "keepdim", "dtype", keepdim=False, dtype=None)
        if b["dtype"] is not None:
            raise CannotMap("converts the dtype")
        return b["dim"], {"keepdim": bool(b["keepdim"])}

    def torch_import(self) -> tuple:
        import torch

        from archcalc import torch_pointwise as tp
        from archcalc import torch_tokens as tt

        def read(call) -> dict:
            dim, attrs = self.bound(call)
            if dim is None:
                raise CannotMap("reduces every axis, the batch's too")
            dims = [dim] if isinstance(dim, int) else list(dim)
            return {"axis": [call.axis(d) for d in dims]} | attrs

        def built(call) -> dict:
            m = call.module
            dims = m.dim if isinstance(m.dim, (tuple, list)) else (m.dim,)
            return {"axis": [d - 1 for d in dims], "keepdim": m.keepdim} | (
                {"correction": m.correction} if self.name == "var" else {})

        module = {"mean": tt.Mean, "sum": tp.Sum, "var": tp.Var, "amax": tp.Amax}[self.name]
        functions = (getattr(torch, self.name), getattr(torch.Tensor, self.name))
        rules = (ImportRule(self.name, modules=(module,), read=built),
                 ImportRule(self.name, functions=functions, read=read, note="over given axes"))
        if self.name != "amax":
            return rules

        def read_max(call) -> dict:  # x.max(dim) -> (values, indices): VOLO's `x_aux.max(1)[0]`
            b = call.bind("input", "dim", "keepdim", keepdim=False)
            if not isinstance(b["dim"], int) or isinstance(b["dim"], bool):
                raise CannotMap("x.max without one integer dim (the maximum of everything, or of two tensors)")
            return {"axis": [call.axis(b["dim"])], "keepdim": bool(b["keepdim"])}

        return rules + (ImportRule(self.name, functions=(torch.max, torch.Tensor.max), read=read_max,
                                   when=lambda call: readable(read_max, call), other_outputs="the indices (argmax)",
                                   note="x.max(dim): the values"),)  # fmt: skip


@register
class Mean(_Reduce):
    name = "mean"
    summary = "average over one axis or several (x.mean(dim)): mean pooling of tokens"
    flops_rule = "in: N - 1 adds and 1 divide per output"
    verb = "averaged"

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return numel(ins[0])

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        every = product(Term(name, size) for name, size in zip(_names(ins[0]), ins[0]))
        return counts(flops=every, connections=every, notes={"FLOPs": "per output: N − 1 adds + 1 divide"})



@register
class Sum(_Reduce):
    name = "sum"
    summary = "sum over one axis or several (x.sum(dim)): split attention's radix sum, stacked branches"
    flops_rule = "in - out: N - 1 adds per output"
    verb = "summed"

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return numel(ins[0]) - numel(out)

    step = "adds"  # what each of the N − 1 operations per output is

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        every = product(Term(name, size) for name, size in zip(_names(ins[0]), ins[0]))
        kept = product(Term(f"{name}_out", size) for name, size in zip(_names(out), out)) if out else 1
        return counts(flops=every - kept, connections=every, notes={"FLOPs": f"per output: N − 1 {self.step}"})



@register
class Amax(Sum):
    name = "amax"
    summary = "maximum over one axis or several (x.amax(dim)): Hiera's mask-unit max pooling"
    flops_rule = "in - out: N - 1 comparisons per output"
    verb = "reduced to its maximum"
    step = "comparisons"


@register
class Var(_Reduce):
    name = "var"
    summary = "variance over one axis or several (x.var(dim)): EvoNorm's group statistics"
    attrs = _Reduce.attrs + (Attr("correction", Int(0), 1, "divide by N - correction (unbiased=False: 0)"),)
    flops_rule = "4 * in: mean, subtract, square, sum and divide"
    verb = "reduced to its variance"

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return 4 * numel(ins[0])

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        every = product(Term(name, size) for name, size in zip(_names(ins[0]), ins[0]))
        return counts(flops=Const(4) * every, connections=every,
                      notes={"FLOPs": "per input element: its share of the mean, a subtraction, a square, an add"})

    def bound(self, call) -> tuple[Any, dict]:
        b = call.bind("input", "dim", "unbiased", "keepdim", "correction", unbiased=None, keepdim=False,
                      correction=None)  # fmt: skip
        if b["unbiased"] is not None and b["correction"] is not None:
            raise CannotMap("gives both unbiased and correction")
        correction = b["correction"] if b["correction"] is not None else int(b["unbiased"] is not False)
        return b["dim"], {"keepdim": bool(b["keepdim"]), "correction": int(correction)}
