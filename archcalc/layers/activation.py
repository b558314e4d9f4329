"""Activations. Each is position-wise: same shape, identity receptive field, one connection per
output element (softmax: every element of its group).

FLOPs per element count each elementary operation once; a transcendental function (exp, erf, tanh)
counts as one:

    relu 1 (max)                  relu6 2 (max, min)             leaky_relu 2 (compare, multiply)
    prelu 2                       elu 4 (exp, subtract, multiply, select)
    sigmoid 4 (negate, exp, add, divide)                          tanh 1
    hardsigmoid 4 (add 3, max, min, divide by 6)                  hardswish 5 (hardsigmoid + multiply)
    silu 5 (sigmoid + multiply)   gelu 5 (divide by sqrt 2, erf, add 1, multiply by x, multiply by 0.5)
    softmax over a group of N: N exp + (N - 1) adds + N divides = 3N - 1 per group

prelu has one trainable slope (or one per channel with `per_channel: true`).

Training: backward about the forward cost (the default rule).
"""

from __future__ import annotations

from typing import Any, ClassVar

from archcalc.layers.attrs import Attr, Bool, Choice, Float, Int
from archcalc.layers.base import Attrs, LayerType, Params, Shape, elements, numel, register
from archcalc.layers.formula import Const, Expr, Formula, Term, counts


class _Pointwise(LayerType):
    category = "activation"
    per_element: ClassVar[int] = 1
    connections_rule = "out"

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return self.per_element * numel(out)

    def connections(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return numel(out)

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        return counts(params=self.explain_params(a, ins), flops=Const(self.per_element) * elements(out),
                      connections=elements(out), notes={"FLOPs": f"{self.per_element} per element ({self.summary})"})

    def explain_params(self, a: Attrs, ins: list[Shape]) -> Expr | int:
        return 0

    def torch_module(self, a: Attrs, ins: list[Shape]) -> Any:
        raise NotImplementedError

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        return self.torch_module(a, ins)


def _simple(type_name: str, per_element: int, summary: str, torch_class: str) -> None:
    """Register a parameter-free activation whose torch module takes no arguments."""

    def torch_module(self: _Pointwise, a: Attrs, ins: list[Shape]) -> Any:
        from torch import nn

        return getattr(nn, torch_class)()

    cls = type(
        torch_class,
        (_Pointwise,),
        {"name": type_name, "per_element": per_element, "summary": summary,
         "flops_rule": f"{per_element} * out", "torch_module": torch_module},
    )  # fmt: skip
    register(cls)


_simple("relu", 1, "max(x, 0)", "ReLU")
_simple("relu6", 2, "min(max(x, 0), 6)", "ReLU6")
_simple("sigmoid", 4, "1 / (1 + exp(-x))", "Sigmoid")
_simple("tanh", 1, "tanh(x)", "Tanh")
_simple("hardsigmoid", 4, "relu6(x + 3) / 6", "Hardsigmoid")
_simple("hardswish", 5, "x * relu6(x + 3) / 6 (h-swish)", "Hardswish")
_simple("silu", 5, "x * sigmoid(x) (swish)", "SiLU")


@register
class LeakyReLU(_Pointwise):
    name = "leaky_relu"
    summary = "x if x > 0 else slope * x"
    per_element = 2
    flops_rule = "2 * out"
    attrs = (Attr("negative_slope", Float(), 0.01),)

    def torch_module(self, a: Attrs, ins: list[Shape]) -> Any:
        from torch import nn

        return nn.LeakyReLU(a["negative_slope"])


@register
class PReLU(_Pointwise):
    name = "prelu"
    summary = "leaky ReLU with a trainable slope (one, or one per channel)"
    per_element = 2
    flops_rule = "2 * out"
    attrs = (
        Attr("per_channel", Bool(), False, "one slope per channel instead of one in all"),
        Attr("init", Float(), 0.25),
    )

    def params(self, a: Attrs, ins: list[Shape], out: Shape) -> Params:
        return Params(trainable=ins[0][0] if a["per_channel"] else 1)

    def explain_params(self, a: Attrs, ins: list[Shape]) -> Expr | int:
        return Term("C", ins[0][0]) if a["per_channel"] else 1

    def torch_module(self, a: Attrs, ins: list[Shape]) -> Any:
        from torch import nn

        return nn.PReLU(ins[0][0] if a["per_channel"] else 1, a["init"])


@register
class ELU(_Pointwise):
    name = "elu"
    summary = "x if x > 0 else alpha * (exp(x) - 1)"
    per_element = 4
    flops_rule = "4 * out"
    attrs = (Attr("alpha", Float(), 1.0),)

    def torch_module(self, a: Attrs, ins: list[Shape]) -> Any:
        from torch import nn

        return nn.ELU(a["alpha"])


@register
class GELU(_Pointwise):
    name = "gelu"
    summary = "x * Phi(x), exact (erf) or tanh approximation"
    per_element = 5
    flops_rule = "5 * out"
    attrs = (Attr("approximate", Choice("none", "tanh"), "none"),)

    def torch_module(self, a: Attrs, ins: list[Shape]) -> Any:
        from torch import nn

        return nn.GELU(a["approximate"])


@register
class Softmax(LayerType):
    name = "softmax"
    summary = "softmax along one axis (default the first, channels or features)"
    category = "activation"
    attrs = (Attr("axis", Int(None), 0, "axis of the sample, not counting the batch"),)
    flops_rule = "groups * (3N - 1), N = size of the axis"
    connections_rule = "out * N"

    def _axis(self, a: Attrs, shape: Shape) -> int:
        from archcalc.errors import ArchcalcError

        axis = a["axis"]
        if not -len(shape) <= axis < len(shape):
            raise ArchcalcError(f"softmax: axis {axis} is out of range for shape {list(shape)}")
        return axis % len(shape)

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        self._axis(a, ins[0])
        return ins[0]

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        n = out[self._axis(a, out)]
        return numel(out) // n * (3 * n - 1)

    def connections(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return numel(out) * out[self._axis(a, out)]

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        n = Term("N", out[self._axis(a, out)])
        groups = Term("groups", numel(out) // out[self._axis(a, out)])
        return counts(flops=groups * (3 * n - 1), connections=elements(out) * n,
                      notes={"FLOPs": "per group of N: N exp + (N − 1) adds + N divides"})  # fmt: skip

    def receptive_field(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc.layers.base import IDENTITY

        return IDENTITY if len(out) != 3 or self._axis(a, out) == 0 else None

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from torch import nn

        return nn.Softmax(dim=self._axis(a, ins[0]) + 1)
