"""Formulas with their numbers filled in: what `archcalc explain` prints for each count.

A layer type's `explain_shape` and `explain_counts` build expressions from named terms,

    (T("k_h", 7) * T("k_w", 7) * T("C_in", 3) + 1) * T("C_out", 64)

and each `Formula` renders three ways, in the source notes' style:

    params = (k_h×k_w×C_in + 1) × C_out = (7×7×3 + 1) × 64 = 9,472

Values are exact: integers and fractions (a float attribute such as an upsampling scale keeps float
arithmetic, as torch's own shape rule does); a formula's value must come out as an integer.
Division `/` is exact; `floor(a / b)` and `ceil(a / b)` print as ⌊a / b⌋ and ⌈a / b⌉.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Union

if TYPE_CHECKING:  # imported where used: only `explain` needs exact fractions
    from fractions import Fraction

Number = Union[int, "Fraction", float]

# Binding strength: sums bind loosest, then products; leaves and brackets never need parentheses.
_SUM, _PRODUCT, _ATOM = 1, 2, 3


def _number_text(value: Number | float) -> str:
    if type(value).__name__ == "Fraction" and value.denominator != 1:  # type: ignore[union-attr]
        return f"{value.numerator}/{value.denominator}"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:g}"
    return f"{int(value):,}"


class Expr:
    """An arithmetic expression over named terms. Operators build trees; ints are wrapped as constants."""

    precedence = _ATOM

    def value(self) -> Number:
        raise NotImplementedError

    def text(self, numbers: bool) -> str:
        """The formula with symbols (numbers=False) or with the numbers filled in."""
        raise NotImplementedError

    def is_leaf(self) -> bool:
        return False

    def __add__(self, other: "Expr | int") -> "Expr":
        return BinOp("+", self, wrap(other))

    def __radd__(self, other: int) -> "Expr":
        return BinOp("+", wrap(other), self)

    def __sub__(self, other: "Expr | int") -> "Expr":
        return BinOp("−", self, wrap(other))

    def __rsub__(self, other: int) -> "Expr":
        return BinOp("−", wrap(other), self)

    def __mul__(self, other: "Expr | int") -> "Expr":
        return BinOp("×", self, wrap(other))

    def __rmul__(self, other: int) -> "Expr":
        return BinOp("×", wrap(other), self)

    def __truediv__(self, other: "Expr | int") -> "Expr":
        return BinOp("/", self, wrap(other))


def wrap(value: "Expr | int | float") -> Expr:
    return value if isinstance(value, Expr) else Const(value)


@dataclass(frozen=True, eq=False)
class Term(Expr):
    """A named quantity with its value: k_h = 7."""

    symbol: str
    number: Number | float

    def value(self) -> Number:
        return self.number  # a float (a scale factor) keeps float arithmetic, as torch's shape rule does

    def text(self, numbers: bool) -> str:
        return _number_text(self.number) if numbers else self.symbol

    def is_leaf(self) -> bool:
        return True


@dataclass(frozen=True, eq=False)
class Const(Expr):
    number: Number | float

    def value(self) -> Number:
        return self.number

    def text(self, numbers: bool) -> str:
        return _number_text(self.number)

    def is_leaf(self) -> bool:
        return True


@dataclass(frozen=True, eq=False)
class BinOp(Expr):
    op: str
    left: Expr
    right: Expr

    @property
    def precedence(self) -> int:  # type: ignore[override]
        return _SUM if self.op in "+−" else _PRODUCT

    def value(self) -> Number:
        a, b = self.left.value(), self.right.value()
        if self.op == "/" and not isinstance(a, float) and not isinstance(b, float):
            from fractions import Fraction

            exact = Fraction(a) / Fraction(b)
            return exact.numerator if exact.denominator == 1 else exact
        if self.op == "+":
            return a + b
        if self.op == "−":
            return a - b
        if self.op == "×":
            return a * b
        return a / b

    def tight(self) -> bool:
        """A product or quotient of plain terms prints without spaces: 7×7×3, C_in/g."""
        return self.op in "×/" and all(side.is_leaf() or (isinstance(side, BinOp) and side.tight())
                                       for side in (self.left, self.right))  # fmt: skip

    def text(self, numbers: bool) -> str:
        left = self.left.text(numbers)
        right = self.right.text(numbers)
        if self.left.precedence < self.precedence:
            left = f"({left})"
        # a − (b + c), a / (b × c): the right side needs brackets at equal strength too.
        if self.right.precedence < self.precedence or (
            self.right.precedence == self.precedence and self.op in "−/" and not self.right.is_leaf()
        ):
            right = f"({right})"
        if self.tight():
            return f"{left}{self.op}{right}"
        return f"{left} {self.op} {right}"


@dataclass(frozen=True, eq=False)
class Group(Expr):
    """Brackets kept for meaning, not precedence: (K + (K − 1) + 1) reads multiplies + adds + bias."""

    inner: Expr

    def value(self) -> Number:
        return self.inner.value()

    def text(self, numbers: bool) -> str:
        return f"({self.inner.text(numbers)})"


@dataclass(frozen=True, eq=False)
class Rounded(Expr):
    """⌊a / b⌋ or ⌈a / b⌉ (any expression inside the brackets)."""

    inner: Expr
    up: bool = False

    def value(self) -> Number:
        value = self.inner.value()
        return math.ceil(value) if self.up else math.floor(value)

    def text(self, numbers: bool) -> str:
        left, right = ("⌈", "⌉") if self.up else ("⌊", "⌋")
        return f"{left}{self.inner.text(numbers)}{right}"


@dataclass(frozen=True, eq=False)
class Call(Expr):
    """A named function of expressions: max(a, b), Σ over a list."""

    name: str
    args: tuple[Expr, ...]

    def value(self) -> Number:
        values = [arg.value() for arg in self.args]
        if self.name == "max":
            return max(values)
        if self.name == "min":
            return min(values)
        return sum(values)  # "Σ" and "sum"

    def text(self, numbers: bool) -> str:
        return f"{self.name}({', '.join(arg.text(numbers) for arg in self.args)})"


def floor(inner: Expr) -> Expr:
    return Rounded(inner, up=False)


def ceil(inner: Expr) -> Expr:
    return Rounded(inner, up=True)


def product(factors: Iterable[Expr | int]) -> Expr:
    items = [wrap(f) for f in factors]
    result = items[0]
    for item in items[1:]:
        result = result * item
    return result


@dataclass(frozen=True, eq=False)
class Formula:
    """One named result (`params`, `H_out`, `K`) and the expression that gives it."""

    name: str
    expr: Expr
    note: str = ""

    @property
    def value(self) -> int:
        value = self.expr.value()
        if isinstance(value, int):
            return value
        from fractions import Fraction

        if Fraction(value).denominator != 1:
            raise ValueError(f"formula {self.name} = {self.symbolic} is not an integer: {value}")
        return int(value)

    @property
    def symbolic(self) -> str:
        return self.expr.text(numbers=False)

    @property
    def numeric(self) -> str:
        return self.expr.text(numbers=True)

    def line(self) -> str:
        """`name = symbols = numbers = value`, leaving out steps that repeat the previous one."""
        steps = [self.symbolic]
        if self.numeric != steps[-1]:
            steps.append(self.numeric)
        result = f"{self.value:,}"
        if result != steps[-1]:
            steps.append(result)
        return f"{self.name} = " + " = ".join(steps)


# Count names every layer's `explain_counts` gives, in display order; other names are definitions (K, L).
COUNT_NAMES = ("params", "buffers", "MACs", "FLOPs", "connections")


def counts(params: Expr | int = 0, macs: Expr | int = 0, flops: Expr | int = 0, connections: Expr | int = 0,
           buffers: Expr | int | None = None, notes: dict[str, str] | None = None,
           defs: Iterable[Formula] = ()) -> list[Formula]:  # fmt: skip
    """The formulas of one layer's counts: definitions first, then the counts (buffers only if any)."""
    notes = notes or {}
    named = {"params": params, "buffers": buffers, "MACs": macs, "FLOPs": flops, "connections": connections}
    out = list(defs)
    for name in COUNT_NAMES:
        if named[name] is not None:
            out.append(Formula(name, wrap(named[name]), notes.get(name, "")))
    return out


def plus_one_if(expr: Expr, condition: bool) -> Expr:
    """`expr + 1` when the layer has a bias (the notes write the bias as + 1), else `expr`."""
    return expr + 1 if condition else expr
