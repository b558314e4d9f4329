"""scalar: an elementwise operation between a tensor and a constant number: `x * 0.5`, `x + 1`, `1 - x`,
`x / 2`, `x ** 2`, `torch.pow(x, 2)`, `x.mul(self.scale)`, `x.div_(2)`.

    {type: scalar, op: mul, value: 0.5}              x * 0.5
    {type: scalar, op: sub, value: 1, side: left}    1 - x
    {type: scalar, op: pow, value: 2}                x ** 2

Attributes: `op` (add, sub, mul, div, pow: the names of torch's functions, as the two-input merges are called
`add` and `mul`), `value` (a finite number), `side` (where the constant stands: right, `x - 1`, the default; or
left, `1 - x`) and `inplace` (the operation writes into x: `x.mul_(0.5)`, `x *= 0.5`).

Counts follow archcalc's elementwise convention (layers/elementwise.py: one add or multiply per element for
each operand beyond the first, n_inputs links into each output element), with the constant as the one extra
operand and x as the one input:

    shape        the input's (a number broadcasts to every element)
    params       0 (the constant is not a parameter: nothing trains it)
    MACs         0 (no multiply-accumulate)
    FLOPs        out (one add, subtract, multiply, divide or power per element; a power counts as one
                 operation, as a transcendental function does in layers/activation.py)
    connections  out (one link from the input element; the constant is not a unit)
    receptive field: identity (each output element reads its own input element)
    training     backward about the forward cost (the default rule)

The peer tools (docs/conventions.md) count nothing for it (fvcore and torch's FlopCounterMode have no
handle for aten::add / mul / sub / div / pow; thop and torchinfo see no module), except ptflops, which
patches `torch.add`, `torch.mul`, `Tensor.add` and `Tensor.mul` (not the operators, not the in-place
methods): one per element for those call forms.
"""

from __future__ import annotations

import math
from typing import Any

from archcalc.errors import ArchcalcError
from archcalc.layers.attrs import Attr, Bool, Choice, Float
from archcalc.layers.base import Attrs, LayerType, Shape, elements, numel, register, same_shape
from archcalc.layers.formula import Formula, counts
from archcalc.layers.imports import CannotMap, ImportRule

OPS = ("add", "sub", "mul", "div", "pow")
COMMUTATIVE = ("add", "mul")
# The torch parameter names of each op's second operand and options, in positional order.
_PARAMETERS = {
    "add": ("input", "other", "alpha", "out"), "sub": ("input", "other", "alpha", "out"),
    "mul": ("input", "other", "out"), "div": ("input", "other", "rounding_mode", "out"),
    "pow": ("input", "exponent", "out"), "rsub": ("input", "other", "alpha"),
}  # fmt: skip
_SYMBOL = {"add": "+", "sub": "-", "mul": "*", "div": "/", "pow": "**"}


def constant(value: Any) -> float | None:
    """The number a Python scalar operand stands for, or None for anything else (a tensor, a bool, a complex)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value


@register
class Scalar(LayerType):
    name = "scalar"
    summary = "an elementwise add, sub, mul, div or pow with a constant number (x * 0.5, 1 - x, x ** 2)"
    category = "elementwise"
    attrs = (
        Attr("op", Choice(*OPS), doc="add, sub, mul, div or pow"),
        Attr("value", Float(), doc="the constant operand (a finite number)"),
        Attr("side", Choice("right", "left"), "right", "where the constant stands: right (x - 1) or left (1 - x)"),
        Attr("inplace", Bool(), False, "writes into its input (x.mul_(0.5), x *= 0.5)"),
    )
    flops_rule = "out (one operation per element)"
    connections_rule = "out (one link from the input element)"
    calls = {"operator": "x * 0.5, 1 - x, x ** 2", "function": "torch.mul(x, 0.5), torch.rsub, torch.pow",
             "method": "x.mul(0.5), x.div_(2)"}  # fmt: skip

    def validate(self, a: Attrs) -> None:
        if a["inplace"] and a["side"] == "left" and a["op"] not in COMMUTATIVE:
            raise ArchcalcError(f"scalar: an in-place {a['op']} writes into x, so the constant cannot stand on the "
                                "left (side: left needs inplace: false)")  # fmt: skip

    def call_refused(self, a: Attrs, call: str) -> str | None:
        left = a["side"] == "left" and a["op"] not in COMMUTATIVE
        if call == "function" and a["inplace"]:
            return "scalar: torch has no in-place function form; use call: method (x.mul_(c)) or operator (x *= c)"
        if call == "function" and left and a["op"] == "div":
            return "scalar: no torch function computes c / x; use call: operator"
        if call == "method" and left:
            return f"scalar: a Tensor method puts the constant on the right; {a['op']} with side: left is call: " \
                   + ("operator" if a["op"] == "div" else "operator or function")
        return None

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return numel(out)

    def connections(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return numel(out)

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        return same_shape(ins[0])

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        x, c = "x", f"{a['value']:g}"
        written = f"{c} {_SYMBOL[a['op']]} {x}" if a["side"] == "left" else f"{x} {_SYMBOL[a['op']]} {c}"
        return counts(flops=elements(out, "_out"), connections=elements(out, "_out"),
                      notes={"FLOPs": f"one operation per element ({written})",
                             "connections": "one link from the input element; the constant is not a unit"})  # fmt: skip

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        return self.build_invoked(a, ins, out, "operator")

    def build_invoked(self, a: Attrs, ins: list[Shape], out: Shape, call: str):
        from archcalc import torch_pointwise as tp

        return tp.ScalarOp(a["op"], a["value"], a["side"], call, a["inplace"])

    def torch_import(self) -> tuple:
        table = _targets()

        def applies(call: Any) -> bool:
            """One tensor input and a number: `x * 0.5`; two tensors are the add / mul merges."""
            return len(call.in_shapes) == 1

        def read(call: Any) -> dict:
            op, reflected, inplace = table[call.target]
            bound = call.bind(*_PARAMETERS["rsub" if reflected == "rsub" else op],
                              alpha=1, out=None, rounding_mode=None)  # fmt: skip
            if bound.get("out") is not None:
                raise CannotMap("writes to out=")
            if bound.get("rounding_mode") is not None:
                raise CannotMap(f"rounds the quotient (rounding_mode={bound['rounding_mode']!r})")
            first, second = bound["input"], bound["exponent" if op == "pow" else "other"]
            value_first, value_second = constant(first), constant(second)
            if value_second is not None and value_first is None:
                tensor, value, left = first, value_second, bool(reflected)
            elif value_first is not None and value_second is None:
                tensor, value, left = second, value_first, True  # operator.sub(1, x), torch.pow(2, x)
            else:
                raise CannotMap("the operand besides the tensor is not a number")
            if not tensor.is_floating_point():
                raise CannotMap(f"computes on a {str(tensor.dtype).removeprefix('torch.')} tensor; archcalc's scalar "
                                "layer computes on floating-point numbers")  # fmt: skip
            alpha = bound.get("alpha", 1)
            if alpha != 1:
                if reflected == "rsub" or constant(alpha) is None:
                    raise CannotMap(f"scales an operand by alpha={alpha!r}")
                value = value * alpha  # torch.add(x, 1, alpha=2) is x + 2: one add per element still
            if not math.isfinite(value):
                raise CannotMap(f"the constant is {value!r}, not a finite number")
            return {"op": op, "value": value, "side": "left" if left else "right", "inplace": inplace}

        def built(call: Any) -> dict:  # archcalc's own build (a spec's layer, imported back)
            m = call.module
            return {"op": m.op, "value": m.value, "side": m.side, "inplace": m.inplace}

        from archcalc import torch_pointwise as tp

        return (ImportRule(self.name, functions=tuple(table), read=read, when=applies),
                ImportRule(self.name, modules=(tp.ScalarOp,), read=built))  # fmt: skip


def _targets() -> dict:
    """Every torch callable of the five ops: function -> (op, reflected, in place). `reflected` marks the
    forms that compute `other <op> x` with x first (Tensor.__rsub__, torch.rsub): the constant is on the left."""
    import operator

    import torch

    T = torch.Tensor
    names = {
        "add": (("add", "__add__"), ("add_", "__iadd__"), (torch.add,), (operator.add,), (operator.iadd,)),
        "sub": (("sub", "subtract", "__sub__"), ("sub_", "subtract_", "__isub__"), (torch.sub, torch.subtract),
                (operator.sub,), (operator.isub,)),
        "mul": (("mul", "multiply", "__mul__"), ("mul_", "multiply_", "__imul__"),
                (torch.mul, torch.multiply), (operator.mul,), (operator.imul,)),
        "div": (("div", "divide", "true_divide", "__truediv__", "__div__"),
                ("div_", "divide_", "true_divide_", "__itruediv__", "__idiv__"),
                (torch.div, torch.divide, torch.true_divide), (operator.truediv,), (operator.itruediv,)),
        "pow": (("pow", "__pow__"), ("pow_", "__ipow__"), (torch.pow,), (operator.pow,), (operator.ipow,)),
    }  # fmt: skip
    table: dict = {}
    for op, (methods, in_place, functions, operators, in_place_operators) in names.items():
        for target in [getattr(T, n) for n in methods if hasattr(T, n)] + list(functions) + list(operators):
            table.setdefault(target, (op, "", False))
        for target in [getattr(T, n) for n in in_place if hasattr(T, n)] + list(in_place_operators):
            table.setdefault(target, (op, "", True))
    reflected = (("__radd__", "add"), ("__rmul__", "mul"), ("__rsub__", "sub"), ("__rtruediv__", "div"),
                 ("__rdiv__", "div"), ("__rpow__", "pow"))
    for name, op in reflected:
        if hasattr(T, name):
            table[getattr(T, name)] = (op, "reflected", False)
    table[torch.rsub] = ("sub", "rsub", False)
    return table
