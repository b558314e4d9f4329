"""Torch modules for the position-wise layer types of archcalc/layers/scalar.py and pointwise_math.py: an
operation with a constant operand (`x * 0.5`, `1 - x`, `x ** 2`), a math function (`torch.sqrt`) and a clamp.

Imported only by torch builders. Each computes its layer with exactly the call the user's code makes (the
spec's `call:` form: the operator, the torch function or the Tensor method, in place or not), because the peer
tools tell them apart: ptflops patches `torch.mul` and `Tensor.mul` (and add) but not `x * 0.5`, `x.mul_`.
"""

from __future__ import annotations

import operator

import torch
from torch import nn

# op -> (operator, in-place operator, the name of its torch function and Tensor method). The torch callables are
# looked up when the module runs, never bound earlier: ptflops replaces torch.add while it counts.
SCALAR_FORMS = {
    "add": (operator.add, operator.iadd, "add"),
    "sub": (operator.sub, operator.isub, "sub"),
    "mul": (operator.mul, operator.imul, "mul"),
    "div": (operator.truediv, operator.itruediv, "div"),
    "pow": (operator.pow, operator.ipow, "pow"),
}
COMMUTATIVE = ("add", "mul")


class ScalarOp(nn.Module):
    """`x <op> value` (side right) or `value <op> x` (side left), computed as `form` does: an operator, a torch
    function or a Tensor method; `inplace` writes into a copy of x (`x.mul_(0.5)`, `x *= 0.5`), so the
    graph's other readers of x keep their values."""

    def __init__(self, op: str, value: float, side: str, form: str, inplace: bool) -> None:
        super().__init__()
        self.op, self.value, self.side, self.form, self.inplace = op, value, side, form, inplace

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        binary, in_place, method = SCALAR_FORMS[self.op]
        v, left = self.value, self.side == "left" and self.op not in COMMUTATIVE
        if self.inplace:
            x = x.clone()
            return in_place(x, v) if self.form == "operator" else getattr(x, method + "_")(v)
        if self.form == "operator":
            return binary(v, x) if self.side == "left" else binary(x, v)
        if self.form == "method":
            return getattr(x, method)(v)  # the left side of sub, div and pow has no method (call_refused)
        if left and self.op == "sub":
            return torch.rsub(x, v)
        function = getattr(torch, method)
        return function(v, x) if left else function(x, v)  # torch.pow(2, x); no torch function for 2 / x

    def extra_repr(self) -> str:
        return f"{self.op}, value={self.value}, side={self.side}, form={self.form}, inplace={self.inplace}"


class Pointwise(nn.Module):
    """A torch math function of one tensor (`name`: sqrt, exp, neg, ...), computed as `form` does:
    `torch.<name>(x)`, `x.<name>()` or the operator (`-x` for neg, `abs(x)` for abs)."""

    OPERATORS = {"neg": operator.neg, "abs": operator.abs}

    def __init__(self, name: str, form: str) -> None:
        super().__init__()
        self.name, self.form = name, form

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.form == "operator":
            return self.OPERATORS[self.name](x)
        if self.form == "method":
            return getattr(x, self.name)()
        return getattr(torch, self.name)(x)

    def extra_repr(self) -> str:
        return f"{self.name}, form={self.form}"


class Clamp(nn.Module):
    """torch.clamp(x, min, max) (`form` function) or x.clamp(min, max) (method); either bound may be None."""

    def __init__(self, low: float | None, high: float | None, form: str) -> None:
        super().__init__()
        self.low, self.high, self.form = low, high, form

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.form == "method":
            return x.clamp(self.low, self.high)
        return torch.clamp(x, self.low, self.high)

    def extra_repr(self) -> str:
        return f"min={self.low}, max={self.high}, form={self.form}"


class BufferClamp(nn.Module):
    """torch.clamp(x, low, high) with 0-dim buffers as the bounds (layers/clamp_buffers.py); ±inf as built."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("low", torch.full((), -float("inf")))
        self.register_buffer("high", torch.full((), float("inf")))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.clamp(x, self.low, self.high)


class ConstantOp(nn.Module):
    """`x * table` or `x + table` with a table made in forward, not held (layers/constant_operand.py)."""

    def __init__(self, op: str, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.op, self.shape = op, shape

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.op == "mul":
            return x * torch.ones(self.shape, device=x.device, dtype=x.dtype)
        return x + torch.zeros(self.shape, device=x.device, dtype=x.dtype)


# The tensor operations of layers/elementwise_binary.py, param_operand.py, reduce.py and stack.py.
BINARY = {"sub": operator.sub, "div": operator.truediv}


class Binary(nn.Module):
    """`a - b` or `a / b` between two tensors, broadcasting (the operator, as the models write it)."""

    def __init__(self, op: str) -> None:
        super().__init__()
        self.op = op

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return BINARY[self.op](a, b)

    def extra_repr(self) -> str:
        return self.op


class ParameterOp(nn.Module):
    """`x * weight` or `x + bias` with a learned tensor of any shape that broadcasts into x (timm's [1]-shaped
    scale and bias of StarReLU and LearnableAffineBlock, a [C, 1, 1] bias). Named weight / bias as torch names
    a per-channel scale and shift. With `fn` (functions of the parameter before use, layers/weight_fn.py) or
    `rows` (the operand is row 0 of a [rows, *shape] parameter) it is named `source`, as the models name such a
    parameter neither weight nor bias (Swin V2's logit_scale, EfficientViM's alpha)."""

    def __init__(self, op: str, shape: tuple[int, ...], buffer: bool = False, fn: tuple[str, ...] = (),
                 rows: int | None = None, reused: bool = False) -> None:  # fmt: skip
        super().__init__()
        self.op, self.shape, self.buffer, self.fn, self.rows = op, tuple(shape), buffer, tuple(fn), rows
        self.reused = reused  # recorded for the import rule; a build computes the chain either way
        full = self.shape if rows is None else (rows,) + self.shape
        value = torch.ones(full) if op == "mul" else torch.zeros(full)
        self.name = "source" if fn or rows is not None else "weight" if op == "mul" else "bias"
        if buffer:  # a fixed operand (Swin's shifted-window attention mask)
            self.register_buffer(self.name, value)
        else:
            setattr(self, self.name, nn.Parameter(value))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        from archcalc.layers.weight_fn import apply

        operand = apply(self.fn, getattr(self, self.name), 0 if self.rows is not None else -1)
        operand = operand if self.rows is None else operand[0]
        return x * operand if self.op == "mul" else x + operand


class Affine(nn.Module):
    """torch.addcmul(bias, weight, x) = bias + weight * x (timm's resmlp Affine)."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(shape))
        self.bias = nn.Parameter(torch.zeros(shape))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.addcmul(self.bias, self.weight, x)


class Sum(nn.Module):
    def __init__(self, dims: tuple[int, ...], keepdim: bool) -> None:
        super().__init__()
        self.dim, self.keepdim = dims, keepdim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.sum(self.dim, keepdim=self.keepdim)


class Amax(Sum):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.amax(self.dim, keepdim=self.keepdim)


class VectorNorm(Sum):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.norm(p=2, dim=self.dim, keepdim=self.keepdim)


class Stack(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return torch.stack(xs, dim=self.dim)


class ExpandAs(nn.Module):
    def forward(self, x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        return x.expand_as(like)


class Var(nn.Module):
    def __init__(self, dims: tuple[int, ...], keepdim: bool, correction: int) -> None:
        super().__init__()
        self.dim, self.keepdim, self.correction = dims, keepdim, correction

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.var(self.dim, correction=self.correction, keepdim=self.keepdim)


class Expand(nn.Module):
    def __init__(self, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.shape = shape

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        new_axes = len(self.shape) - (x.dim() - 1)  # leading axes of the sample, after the batch
        return x.reshape(x.shape[:1] + (1,) * new_axes + x.shape[1:]).expand(x.shape[0], *self.shape)
