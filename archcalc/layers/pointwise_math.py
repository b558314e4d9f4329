"""Math functions of one tensor, element by element, and the clamp: the normalisation and approximation
arithmetic of modern models (`torch.rsqrt(var + eps)`, `x.exp()`, `-x`, `x.clamp(min=1e-6)`).

They are position-wise functions of one unit, like the activations (layers/activation.py, whose conventions
they follow): same shape, no parameters, identity receptive field, no connections (the function belongs to
the unit it transforms, as tanh does), and FLOPs per element counting each elementary operation once, a
transcendental function (exp, log, sqrt, erf) as one:

    sqrt 1          rsqrt 2 (sqrt, divide)      exp 1           log 1           erf 1
    abs 1           neg 1                       reciprocal 1 (divide)           square 1 (multiply)
    clamp: one comparison per bound given: 1 (min or max alone), 2 (both; relu6 is clamp(x, 0, 6))

`{type: sqrt}`, `{type: clamp, min: 0.0}`, `{type: clamp, min: -1, max: 1}`. Each imports from its torch function,
its Tensor method (in place too: `x.sqrt_()`) and, for neg and abs, the operator (`-x`, `abs(x)`); clamp from
torch.clamp / clip / clamp_min / clamp_max and their methods, with number bounds (a tensor bound is not one).

The peer tools count none of them (fvcore ignores aten::clamp and has no handle for the others, torch's
FlopCounterMode none either, ptflops patches none of these functions, thop and torchinfo see no module).
Training: backward about the forward cost (the default rule).
"""

from __future__ import annotations

from typing import Any

from archcalc.errors import ArchcalcError
from archcalc.layers.activation import _Pointwise
from archcalc.layers.attrs import Attr, Float
from archcalc.layers.base import Attrs, Shape, elements, numel, register
from archcalc.layers.formula import Const, Formula, counts
from archcalc.layers.imports import CannotMap, ImportRule


def floating(call: Any) -> None:
    """A CannotMap unless the call computes on floating-point numbers (`abs` of token ids is not this layer)."""
    import torch

    for value in list(call.args) + list(call.kwargs.values()):
        if isinstance(value, torch.Tensor) and not value.is_floating_point():
            raise CannotMap(f"computes on a {str(value.dtype).removeprefix('torch.')} tensor; archcalc's "
                            "pointwise math computes on floating-point numbers")  # fmt: skip


_ALIASES = {"neg": ("negative",), "abs": ("absolute",)}


class _Math(_Pointwise):
    """A torch math function of one tensor: `torch.<name>(x)`, `x.<name>()`, `x.<name>_()` (and an operator)."""

    operator_form: str = ""  # "-x", "abs(x)": the Python operator computing it, if any

    def torch_module(self, a: Attrs, ins: list[Shape]) -> Any:
        return self.build_invoked(a, ins, ins[0], "function")

    def build_invoked(self, a: Attrs, ins: list[Shape], out: Shape, call: str) -> Any:
        from archcalc import torch_pointwise as tp

        return tp.Pointwise(self.name, call)

    def torch_import(self) -> tuple:
        import operator

        import torch

        T = torch.Tensor
        names = (self.name,) + _ALIASES.get(self.name, ())
        functions = [getattr(owner, n + suffix) for owner in (torch, T) for n in names for suffix in ("", "_")
                     if hasattr(owner, n + suffix)]  # fmt: skip
        functions += [getattr(T, f"__{self.name}__")] if self.operator_form else []
        functions += [getattr(operator, self.name)] if self.operator_form else []
        functions += [torch.special.erf] if self.name == "erf" else []

        def read(call: Any) -> dict:
            call.bind("input")  # out= or anything else: CannotMap
            floating(call)
            return {}

        from archcalc import torch_pointwise as tp

        return (ImportRule(self.name, functions=tuple(dict.fromkeys(functions)), read=read),
                ImportRule(self.name, modules=(tp.Pointwise,), when=lambda call: call.module.name == self.name))


def _math(name: str, per_element: int, summary: str, operator_form: str = "") -> None:
    calls = {"function": f"torch.{name}", "method": f"x.{name}()"} | ({"operator": operator_form} if operator_form
                                                                        else {})  # fmt: skip
    register(type(f"Math_{name}", (_Math,), {"name": name, "per_element": per_element, "summary": summary,
                                              "flops_rule": f"{per_element} * out", "calls": calls,
                                              "operator_form": operator_form}))  # fmt: skip


_math("sqrt", 1, "square root, element by element")
_math("rsqrt", 2, "1 / sqrt(x), element by element (sqrt, divide)")
_math("exp", 1, "e to the x, element by element")
_math("log", 1, "natural logarithm, element by element")
_math("erf", 1, "the error function, element by element")
_math("abs", 1, "absolute value, element by element", "abs(x)")
_math("neg", 1, "-x, element by element", "-x")
_math("reciprocal", 1, "1 / x, element by element (one divide)")
_math("square", 1, "x * x, element by element (one multiply)")


@register
class Clamp(_Pointwise):
    name = "clamp"
    summary = "min(max(x, min), max) with number bounds, either of which may be left out"
    attrs = (Attr("min", Float(), None, "the lower bound (none: no lower bound)"),
             Attr("max", Float(), None, "the upper bound (none: no upper bound)"))  # fmt: skip
    flops_rule = "(bounds given) * out: one comparison per bound"
    calls = {"function": "torch.clamp(x, min, max)", "method": "x.clamp(min, max)"}

    def validate(self, a: Attrs) -> None:
        if a["min"] is None and a["max"] is None:
            raise ArchcalcError("clamp needs attribute 'min' or 'max' (a number), or both")

    def bounds(self, a: Attrs) -> int:
        return (a["min"] is not None) + (a["max"] is not None)

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return self.bounds(a) * numel(out)

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        return counts(flops=Const(self.bounds(a)) * elements(out),
                      notes={"FLOPs": "one comparison per element for each bound given",
                             "connections": "part of the unit it clamps"})  # fmt: skip

    def torch_module(self, a: Attrs, ins: list[Shape]) -> Any:
        return self.build_invoked(a, ins, ins[0], "function")

    def build_invoked(self, a: Attrs, ins: list[Shape], out: Shape, call: str) -> Any:
        from archcalc import torch_pointwise as tp

        return tp.Clamp(a["min"], a["max"], call)

    def torch_import(self) -> tuple:
        import torch

        T = torch.Tensor
        both = [torch.clamp, torch.clip, torch.clamp_, torch.clip_, T.clamp, T.clip, T.clamp_, T.clip_]
        lower = [torch.clamp_min, torch.clamp_min_, T.clamp_min, T.clamp_min_]
        upper = [torch.clamp_max, torch.clamp_max_, T.clamp_max, T.clamp_max_]
        table = {f: "both" for f in both} | {f: "min" for f in lower} | {f: "max" for f in upper}

        def number(value: Any, which: str) -> float | None:
            if value is None or (isinstance(value, (int, float)) and not isinstance(value, bool)):
                return value
            raise CannotMap(f"its {which} bound is {'a tensor' if isinstance(value, torch.Tensor) else repr(value)}, "
                            "not a number")  # fmt: skip

        def read(call: Any) -> dict:
            kind = table[call.target]
            names = ("input", "min", "max") if kind == "both" else ("input", kind)
            bound = call.bind(*names, min=None, max=None)
            floating(call)
            return {"min": number(bound.get("min"), "lower"), "max": number(bound.get("max"), "upper")}

        from archcalc import torch_pointwise as tp

        return (ImportRule(self.name, functions=tuple(table), read=read),
                ImportRule(self.name, modules=(tp.Clamp,), read=lambda call: {"min": call.module.low,
                                                                               "max": call.module.high}))
