"""A layer applied independently over leading axes of its input (a spec's `over: k`).

Modern blocks fold heads, windows or rows into torch's batch before a per-sample layer: EfficientViT's
cascaded group attention runs a Conv2d and BatchNorm2d on `[B·heads, C, H, W]`, MobileViT its attention on
`[B·patches, N, C]`, Sequencer an LSTM on `[B·H, W, C]`, MViT v2 its pooling convs on `[B·heads, C, H, W]`.
Per sample such a layer sees `[S_1, ..., S_k, *rest]` and runs on each of the S_1·…·S_k slices `rest` on its
own, with one set of weights. `over: k` says so, for any layer type; the type's own rules see one slice:

    shape        = [S_1, ..., S_k] + the type's shape of the slices (every input has the same leading sizes)
    params       = the type's params (one set of weights, shared by the slices)
    MACs, FLOPs  = copies × the type's per slice, copies = S_1·…·S_k (work done once per call, `per_call`,
                   stays once); connections and workspace likewise × copies
    receptive field: the type's own when it keeps positions (IDENTITY), else none (the slices are windows or
                   heads, not the input's spatial axes)

archcalc's torch build folds the leading axes into torch's batch (`torch_window.Folded`): the type's module
runs on `[B·copies, *rest]`, as in the model, so fvcore, FlopCounterMode and the module-hook tools see what
they see there. The conventions count the type's rule with batch B·copies (conventions/__init__.py). The
LLM arithmetic does not read an attention applied over leading axes (`attention` is None): its geometry is
per slice. The importer writes `over: 1` where a module or function that reads axis 0 as the batch gets a
tensor whose batch is merged into axis 0 (importer/layout.py) and the type's rules refuse the merged shape.
"""

from __future__ import annotations

import math
from typing import Any

from archcalc.errors import ArchcalcError
from archcalc.graph import OVER_RULES
from archcalc.layers.base import IDENTITY, LayerType, Params, RFStep, Shape
from archcalc.layers.formula import Formula, Group, Term

# A spec's `over:` is at most this: more leading axes than any tensor torch supports
MAX_OVER = 64
_SCALED = ("MACs", "FLOPs", "connections")


def split(shapes: list[Shape], over: int) -> tuple[Shape, list[Shape]]:
    """(the leading sizes, each input's slice shape); an error when an input lacks them or they differ."""
    if not shapes:
        raise ArchcalcError(f"over: {over} needs an input")
    lead = tuple(shapes[0][:over])
    for shape in shapes:
        if len(shape) <= over:
            raise ArchcalcError(f"over: {over} applies the layer to each slice of the first {over} axes, but the "
                                f"input {list(shape)} has {len(shape)} axes, leaving nothing to apply it to")  # fmt: skip
        if tuple(shape[:over]) != lead:
            raise ArchcalcError(f"over: {over} needs every input to lead with the same sizes {list(lead)}, got "
                                f"{list(shape)}")  # fmt: skip
    return lead, [tuple(shape[over:]) for shape in shapes]


class AppliedOver:
    """The rules of `inner` (a registry entry) applied to each slice of the first `over` axes; every other member
    (name, category, family, attrs, dense_macs, ...) is the entry's own."""

    def __init__(self, inner: LayerType, over: int) -> None:
        self.inner, self.over = inner, over

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def slices(self, ins: list[Shape], out: Shape) -> tuple[int, list[Shape], Shape]:
        """(copies, the inputs' slice shapes, the output's slice shape)."""
        lead, inner = split(ins, self.over)
        return math.prod(lead), inner, tuple(out[self.over :])

    def shape(self, a: dict, ins: list[Shape]) -> Shape:
        lead, inner = split(ins, self.over)
        return lead + tuple(self.inner.shape(a, inner))

    def params(self, a: dict, ins: list[Shape], out: Shape) -> Params:
        _, inner, slice_out = self.slices(ins, out)
        return self.inner.params(a, inner, slice_out)

    def _scaled(self, count: str, a: dict, ins: list[Shape], out: Shape) -> int:
        copies, inner, slice_out = self.slices(ins, out)
        value = getattr(self.inner, count)(a, inner, slice_out)
        once = dict(zip(("macs", "flops"), self.inner.per_call(a, inner, slice_out))).get(count, 0)
        return copies * (value - once) + once

    def macs(self, a: dict, ins: list[Shape], out: Shape) -> int:
        return self._scaled("macs", a, ins, out)

    def flops(self, a: dict, ins: list[Shape], out: Shape) -> int:
        return self._scaled("flops", a, ins, out)

    def connections(self, a: dict, ins: list[Shape], out: Shape) -> int:
        return self._scaled("connections", a, ins, out)

    def workspace(self, a: dict, ins: list[Shape], out: Shape) -> int:
        return self._scaled("workspace", a, ins, out)

    def per_call(self, a: dict, ins: list[Shape], out: Shape) -> tuple[int, int]:
        _, inner, slice_out = self.slices(ins, out)
        return self.inner.per_call(a, inner, slice_out)

    def embedding_params(self, a: dict, ins: list[Shape], out: Shape) -> int:
        _, inner, slice_out = self.slices(ins, out)
        return self.inner.embedding_params(a, inner, slice_out)

    def backward(self, a: dict, ins: list[Shape], out: Shape, input_grad: bool) -> tuple[int, int]:
        copies, inner, slice_out = self.slices(ins, out)
        macs, flops = self.inner.backward(a, inner, slice_out, input_grad)
        return copies * macs, copies * flops

    def attention(self, a: dict, ins: list[Shape]) -> None:
        return None  # per slice: the LLM arithmetic reads whole-sample attentions only

    def receptive_field(self, a: dict, ins: list[Shape], out: Shape) -> RFStep | None:
        _, inner, slice_out = self.slices(ins, out)
        step = self.inner.receptive_field(a, inner, slice_out)
        return IDENTITY if step == IDENTITY else None

    def window(self, a: dict, in_shape: Shape) -> Any:
        return self.inner.window(a, tuple(in_shape[self.over :]))

    def reduction_axis(self, a: dict, shape: Shape) -> int | None:
        axis = self.inner.reduction_axis(a, tuple(shape[self.over :]))
        return None if axis is None else axis + self.over

    def explain_shape(self, a: dict, ins: list[Shape], out: Shape) -> list[Formula]:
        lead, inner = split(ins, self.over)
        named = [Formula(f"S{axis + 1}_out", Term(f"S{axis + 1}", size)) for axis, size in enumerate(lead)]
        return named + self.inner.explain_shape(a, inner, tuple(out[self.over :]))

    def explain_counts(self, a: dict, ins: list[Shape], out: Shape) -> list[Formula]:
        copies, inner, slice_out = self.slices(ins, out)
        once = dict(zip(("MACs", "FLOPs"), self.inner.per_call(a, inner, slice_out)))
        term = Term("copies", copies)
        out_formulas = []
        for formula in self.inner.explain_counts(a, inner, slice_out):
            if formula.name not in _SCALED or formula.value == 0 or copies == 1:
                out_formulas.append(formula)
                continue
            note = (formula.note + "; " if formula.note else "") + "copies: slices of the leading axes (over)"
            if once.get(formula.name):
                fixed = Term("once", once[formula.name])
                out_formulas.append(Formula(formula.name, term * Group(formula.expr - fixed) + fixed, note))
            else:
                out_formulas.append(Formula(formula.name, term * Group(formula.expr), note))
        return out_formulas

    def build_torch(self, a: dict, ins: list[Shape], out: Shape) -> Any:
        from archcalc.torch_window import Folded

        _, inner, slice_out = self.slices(ins, out)
        return Folded(self.inner.build_torch(a, inner, slice_out), self.over)

    def build_invoked(self, a: dict, ins: list[Shape], out: Shape, call: str) -> Any:
        from archcalc.torch_window import Folded

        _, inner, slice_out = self.slices(ins, out)
        return Folded(self.inner.build_invoked(a, inner, slice_out, call), self.over, direct=True)


_WRAPPED: dict[tuple[str, int], AppliedOver] = {}


def applied_over(inner: LayerType, over: int) -> AppliedOver:
    """The entry `inner` applied over `over` leading axes (one object per pair: nodes share it)."""
    key = (inner.name, over)
    rule = _WRAPPED.get(key)
    if rule is None or rule.inner is not inner:
        rule = _WRAPPED[key] = AppliedOver(inner, over)
    return rule


def read_over(value: Any) -> int:
    """A spec's `over:` value: a whole number of leading axes, 0 (the default) to MAX_OVER."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_OVER:
        from archcalc.errors import brief

        raise ArchcalcError(f"'over' must be a whole number of leading axes from 0 to {MAX_OVER}, got {brief(value)}")
    return value


OVER_RULES["wrap"] = applied_over
