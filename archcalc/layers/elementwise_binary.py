"""Elementwise sub and div between two activations, broadcasting as in torch: `self.mixer(x) - self.norm(x)`
(FastViT's RepMixer), `self.pool(x) - x` (PoolFormer, EfficientFormer), `out[:, :-1] / (out[:, -1:] + eps)`
(EfficientViT's linear attention).

    {type: sub, inputs: [a, b]}      a - b
    {type: div, inputs: [a, b]}      a / b

They follow the two-input merges of layers/elementwise.py (add, mul): exactly two inputs, in order (the
first is the minuend or dividend), the output is their broadcast shape, and

    params       0
    MACs         0
    flops        out (one subtraction or division per output element)
    connections  2 * out (each output element reads one element of each input)
    receptive field: the union of the inputs' fields (analysis/receptive.py)
    training     backward about the forward cost (the default rule)

The peer tools count nothing for them: fvcore and torch's FlopCounterMode have no handle for aten::sub /
aten::div, ptflops patches neither the operators nor Tensor.sub / div, thop and torchinfo see no module with
parameters. A tensor and a number (`x - 1`) is the `scalar` type (layers/scalar.py).
"""

from __future__ import annotations

from dataclasses import replace

from archcalc.layers.base import Attrs, Shape, elements, register
from archcalc.layers.elementwise import _Elementwise
from archcalc.layers.formula import Const, counts


class _Binary(_Elementwise):
    max_inputs = 2
    flops_rule = "out (one operation per output element)"
    connections_rule = "2 * out"
    verb = ""

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list:
        return counts(flops=elements(out, "_out"), connections=Const(2) * elements(out, "_out"),
                      notes={"FLOPs": f"one {self.verb} per output element"})  # fmt: skip

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc import torch_pointwise as tp

        return tp.Binary(self.name)

    def torch_import(self) -> tuple:
        import operator

        import torch

        from archcalc import torch_pointwise as tp

        T = torch.Tensor
        names = {"sub": ("sub", "subtract", "__sub__", "sub_", "subtract_", "__isub__"),
                 "div": ("div", "divide", "true_divide", "__truediv__", "div_", "divide_", "true_divide_",
                         "__itruediv__")}[self.name]  # fmt: skip
        functions = [getattr(T, n) for n in names if hasattr(T, n)] + [getattr(torch, n) for n in names
                                                                         if hasattr(torch, n)]  # fmt: skip
        functions += [operator.sub, operator.isub] if self.name == "sub" else [operator.truediv, operator.itruediv]
        built, called = self.import_rules(tp.Binary, tuple(dict.fromkeys(functions)))
        return (replace(built, when=lambda call: call.module.op == self.name), called)


@register
class Sub(_Binary):
    name = "sub"
    calls = {"operator": "x - y"}
    summary = "elementwise difference of two inputs, broadcasting (x - y)"
    verb = "subtraction"


@register
class Div(_Binary):
    name = "div"
    calls = {"operator": "x / y"}
    summary = "elementwise quotient of two inputs, broadcasting (x / y)"
    verb = "division"
