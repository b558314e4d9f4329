"""Activations. Each is position-wise: same shape, identity receptive field (softmax over the channels
too; over a spatial axis it mixes the positions, and the field ends).

Connections: none. After LeCun et al. (1998), a connection is a link into a unit; the squashing
function belongs to the unit whose weighted sum it squashes (tanh after C1 is part of C1's units), so it
adds no links of its own. LeNet-5 then totals the paper's 340,908 connections. The same holds for every
activation here, softmax included (it normalises the outputs of the units before it).

FLOPs per element count each elementary operation once; a transcendental function (exp, erf, tanh)
counts as one:

    relu 1 (max)                  relu6 2 (max, min)             leaky_relu 2 (compare, multiply)
    prelu 2                       elu 4 (exp, subtract, multiply, select)
    sigmoid 4 (negate, exp, add, divide)                          tanh 1
    hardsigmoid 4 (add 3, max, min, divide by 6)                  hardswish 5 (hardsigmoid + multiply)
    silu 5 (sigmoid + multiply)   gelu 5 (divide by sqrt 2, erf, add 1, multiply by x, multiply by 0.5)
    mish 5 (exp, add 1, log: softplus; tanh; multiply by x)
    softmax over a group of N: N exp + (N - 1) adds + N divides = 3N - 1 per group

prelu has one trainable slope (or one per channel with `per_channel: true`).

Training: backward about the forward cost (the default rule).
"""

from __future__ import annotations

from typing import Any, ClassVar

from archcalc.layers.attrs import Attr, Bool, Choice, Float, Int
from archcalc.layers.base import Attrs, LayerType, Params, Shape, elements, numel, register
from archcalc.layers.formula import Const, Expr, Formula, Term, counts
from archcalc.layers.imports import CannotMap, ImportRule
from archcalc.layers.one_axis import AlongOneAxis


NO_LINKS = "0: the squashing function is part of its unit (LeCun et al.)"


class _Pointwise(LayerType):
    category = "activation"
    per_element: ClassVar[int] = 1
    connections_rule = NO_LINKS

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return self.per_element * numel(out)

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        return counts(params=self.explain_params(a, ins), flops=Const(self.per_element) * elements(out),
                      notes={"FLOPs": f"{self.per_element} per element ({self.summary})",
                             "connections": "part of the unit it squashes"})

    def explain_params(self, a: Attrs, ins: list[Shape]) -> Expr | int:
        return 0

    def torch_module(self, a: Attrs, ins: list[Shape]) -> Any:
        raise NotImplementedError

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        return self.torch_module(a, ins)

    def torch_sources(self) -> tuple[tuple[type, ...], tuple[str, ...]]:
        """(module classes, function names in torch.nn.functional / torch / torch.Tensor) to import."""
        return (), ()

    def import_module(self, module: Any) -> dict:
        return {}

    def import_function(self, call: Any) -> dict:
        call.bind("input", "inplace", inplace=False)
        return {}

    def torch_import(self) -> tuple:
        import torch
        from torch.nn import functional as F

        classes, names = self.torch_sources()
        functions = tuple(getattr(owner, n) for n in names for owner in (F, torch, torch.Tensor) if hasattr(owner, n))
        return (ImportRule(self.name, modules=classes, read=lambda call: self.import_module(call.module)),
                ImportRule(self.name, functions=functions, read=self.import_function))  # fmt: skip


def _simple(type_name: str, per_element: int, summary: str, torch_class: str, functions: tuple[str, ...],
            foreign: tuple[str, ...] = (), function: str | None = None) -> None:  # fmt: skip
    """Register a parameter-free activation whose torch module takes no arguments; `functions` name
    the functional forms (torch.nn.functional, torch or torch.Tensor) that import as it, `foreign` the
    classes of transformers.activations that compute it (imported as it when transformers is loaded),
    `function` the functional its module's forward calls (a spec's `call: function`)."""

    def torch_module(self: _Pointwise, a: Attrs, ins: list[Shape]) -> Any:
        from torch import nn

        return getattr(nn, torch_class)()

    def torch_sources(self: _Pointwise) -> tuple[tuple[type, ...], tuple[str, ...]]:
        from torch import nn

        return (getattr(nn, torch_class),), functions

    def torch_import(self: _Pointwise) -> tuple:
        own = _Pointwise.torch_import(self)
        return own + ((ImportRule(type_name, foreign=tuple(f"transformers.activations.{n}" for n in foreign)),)
                      if foreign else ())  # fmt: skip

    cls = type(
        torch_class,
        (_Pointwise,),
        {"name": type_name, "per_element": per_element, "summary": summary,
         "flops_rule": f"{per_element} * out", "torch_module": torch_module, "torch_sources": torch_sources,
         "torch_import": torch_import, "calls": {"function": function} if function else {}},
    )  # fmt: skip
    register(cls)


_simple("relu", 1, "max(x, 0)", "ReLU", ("relu", "relu_"), function="F.relu")
# nn.ReLU6's forward is F.hardtanh, not F.relu6 (which ptflops patches): no function form here.
_simple("relu6", 2, "min(max(x, 0), 6)", "ReLU6", ("relu6",))
_simple("sigmoid", 4, "1 / (1 + exp(-x))", "Sigmoid", ("sigmoid", "sigmoid_"), function="torch.sigmoid")
_simple("tanh", 1, "tanh(x)", "Tanh", ("tanh", "tanh_"), function="torch.tanh")
_simple("hardsigmoid", 4, "relu6(x + 3) / 6", "Hardsigmoid", ("hardsigmoid",), function="F.hardsigmoid")
_simple("hardswish", 5, "x * relu6(x + 3) / 6 (h-swish)", "Hardswish", ("hardswish",), function="F.hardswish")
_simple("silu", 5, "x * sigmoid(x) (swish)", "SiLU", ("silu",), ("SiLUActivation",), function="F.silu")
_simple("mish", 5, "x * tanh(softplus(x)) (Misra 2019; YOLOv4)", "Mish", ("mish",), function="F.mish")


@register
class LeakyReLU(_Pointwise):
    name = "leaky_relu"
    calls = {"function": "F.leaky_relu"}
    summary = "x if x > 0 else slope * x"
    per_element = 2
    flops_rule = "2 * out"
    attrs = (Attr("negative_slope", Float(), 0.01),)

    def torch_module(self, a: Attrs, ins: list[Shape]) -> Any:
        from torch import nn

        return nn.LeakyReLU(a["negative_slope"])

    def torch_sources(self) -> tuple[tuple[type, ...], tuple[str, ...]]:
        from torch import nn

        return (nn.LeakyReLU,), ("leaky_relu", "leaky_relu_")

    def import_module(self, module: Any) -> dict:
        return {"negative_slope": module.negative_slope}

    def import_function(self, call: Any) -> dict:
        return {"negative_slope": call.bind("input", "negative_slope", "inplace", negative_slope=0.01,
                                            inplace=False)["negative_slope"]}  # fmt: skip


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

    def torch_sources(self) -> tuple[tuple[type, ...], tuple[str, ...]]:
        from torch import nn

        return (nn.PReLU,), ()

    def import_module(self, module: Any) -> dict:
        # A slope count other than 1 or C shows up as a params mismatch when importing.
        return {"per_channel": module.num_parameters > 1, "init": module.init}


@register
class ELU(_Pointwise):
    name = "elu"
    calls = {"function": "F.elu"}
    summary = "x if x > 0 else alpha * (exp(x) - 1)"
    per_element = 4
    flops_rule = "4 * out"
    attrs = (Attr("alpha", Float(), 1.0),)

    def torch_module(self, a: Attrs, ins: list[Shape]) -> Any:
        from torch import nn

        return nn.ELU(a["alpha"])

    def torch_sources(self) -> tuple[tuple[type, ...], tuple[str, ...]]:
        from torch import nn

        return (nn.ELU,), ("elu", "elu_")

    def import_module(self, module: Any) -> dict:
        return {"alpha": module.alpha}

    def import_function(self, call: Any) -> dict:
        return {"alpha": call.bind("input", "alpha", "inplace", alpha=1.0, inplace=False)["alpha"]}


@register
class GELU(_Pointwise):
    name = "gelu"
    calls = {"function": "F.gelu"}
    summary = "x * Phi(x), exact (erf) or tanh approximation"
    per_element = 5
    flops_rule = "5 * out"
    attrs = (Attr("approximate", Choice("none", "tanh"), "none"),)

    def torch_module(self, a: Attrs, ins: list[Shape]) -> Any:
        from torch import nn

        return nn.GELU(a["approximate"])

    def torch_sources(self) -> tuple[tuple[type, ...], tuple[str, ...]]:
        from torch import nn

        return (nn.GELU,), ("gelu",)

    def import_module(self, module: Any) -> dict:
        return {"approximate": module.approximate}

    def import_function(self, call: Any) -> dict:
        return {"approximate": call.bind("input", "approximate", approximate="none")["approximate"]}

    def torch_import(self) -> tuple:
        """torch's, and Hugging Face's GELU modules when transformers is loaded (GPT-2's gelu_new is tanh's)."""
        hf = "transformers.activations."
        return super().torch_import() + (
            ImportRule(self.name, foreign=(hf + "GELUActivation",)),
            ImportRule(self.name, foreign=tuple(hf + n for n in ("NewGELUActivation", "GELUTanh", "FastGELUActivation")),
                       read=lambda call: {"approximate": "tanh"}, note="tanh"))  # fmt: skip


@register
class Softmax(AlongOneAxis, LayerType):
    name = "softmax"
    calls = {"function": "F.softmax"}
    summary = "softmax along one axis (default the first, channels or features)"
    category = "activation"
    attrs = (Attr("axis", Int(None), 0, "axis of the sample, not counting the batch"),)
    flops_rule = "groups * (3N - 1), N = size of the axis"
    connections_rule = NO_LINKS

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        n = Term("N", out[self.reduction_axis(a, out)])
        groups = Term("groups", numel(out) // out[self.reduction_axis(a, out)])
        return counts(flops=groups * (3 * n - 1),
                      notes={"FLOPs": "per group of N: N exp + (N − 1) adds + N divides",
                             "connections": "part of the units it normalises"})  # fmt: skip

    def receptive_field(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc.layers.base import IDENTITY

        # over the channels it keeps positions; over a spatial axis it mixes them all
        return IDENTITY if len(out) < 2 or self.reduction_axis(a, out) == 0 else None

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from torch import nn

        return nn.Softmax(dim=self.reduction_axis(a, ins[0]) + 1)

    def torch_import(self) -> tuple:
        import torch
        from torch import nn
        from torch.nn import functional as F

        def axis(call: Any, dim: Any) -> dict:
            if dim is None:
                raise CannotMap("softmax without dim (torch's implicit choice is deprecated)")
            return {"axis": call.axis(dim)}

        def function(call: Any) -> dict:
            bound = call.bind("input", "dim", "_stacklevel", "dtype", dim=None, _stacklevel=3, dtype=None)
            if bound["dtype"] is not None:
                raise CannotMap("converts the dtype")
            return axis(call, bound["dim"])

        functions = (F.softmax, torch.softmax, torch.Tensor.softmax)
        return (ImportRule(self.name, modules=(nn.Softmax,), read=lambda call: axis(call, call.module.dim)),
                ImportRule(self.name, functions=functions, read=function))  # fmt: skip
