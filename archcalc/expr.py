"""A small, safe expression language for spec values.

Specs may write `out_channels: "make_divisible(32 * width, 8)"` or `stride: "2 if i == 0 else 1"`.
The text is parsed with `ast` and only a whitelisted grammar is evaluated: numbers, strings, booleans,
lists, names bound in the current scope, arithmetic (+ - * / // % **), comparisons, and/or/not,
conditional expressions, indexing and a fixed set of functions. There is no `eval`, no attribute
access and no way to reach Python objects. Sizes are bounded so an expression cannot eat the machine:
the text (`max_expression_chars`) and its syntax tree (`max_expression_nodes`) by the limits in force
(`archcalc.limits.current()`), numbers by MAX_MAGNITUDE, and strings and lists (nested items
included, so doubling a list through variables stops) by `max_list_items`.
"""

from __future__ import annotations

import ast
import math
import re
import operator
from functools import lru_cache
from typing import Any, Mapping

from archcalc import limits as _limits
from archcalc.errors import ArchcalcError, brief, clip
from archcalc.limits import MAX_MAGNITUDE


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """torchvision's `_make_divisible`: round to the nearest multiple of `divisor`, never below 90%."""
    if min_value is None:
        min_value = divisor
    new_value = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if new_value < 0.9 * value:
        new_value += divisor
    return new_value


FUNCTIONS = {
    "int": int,
    "float": float,
    "round": round,
    "min": min,
    "max": max,
    "abs": abs,
    "ceil": math.ceil,
    "floor": math.floor,
    "sqrt": math.sqrt,
    "len": len,
    "make_divisible": make_divisible,
}

_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_COMPARE = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
_ALLOWED = (
    ast.Expression, ast.Constant, ast.Name, ast.Load, ast.BinOp, ast.UnaryOp, ast.BoolOp,
    ast.Compare, ast.IfExp, ast.Call, ast.List, ast.Tuple, ast.Subscript,
    ast.USub, ast.UAdd, ast.Not, ast.And, ast.Or, *_BINARY, *_COMPARE,
)  # fmt: skip


# YAML 1.1 read these as booleans and `1:04` as 64; specs follow YAML 1.2, where they are text.
YAML11_BOOLEANS = ("yes", "no", "on", "off", "y", "n")
_SEXAGESIMAL = re.compile(r"[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?\Z")


@lru_cache(maxsize=4096)
def _parse(text: str) -> tuple[ast.Expression, int]:
    """The syntax tree (checked against the whitelist) and its node count."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError) as exc:
        hint = ("; YAML 1.1 read this as a base-60 number, YAML 1.2 (which specs follow) reads text: write the "
                "number itself" if _SEXAGESIMAL.match(text.strip()) else "")  # fmt: skip
        raise ArchcalcError(f"bad expression {_quote(text)}: "
                            f"{exc.msg if isinstance(exc, SyntaxError) else exc}{hint}")  # fmt: skip
    except (RecursionError, MemoryError):
        raise ArchcalcError(f"bad expression {_quote(text)}: it nests too deeply")
    count = 0
    for node in ast.walk(tree):
        count += 1
        if not isinstance(node, _ALLOWED):
            raise ArchcalcError(
                f"bad expression {_quote(text)}: {type(node).__name__} is not allowed "
                "(only arithmetic, comparisons, conditionals, indexing and whitelisted functions)"
            )
        if isinstance(node, ast.Call) and (
            not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS or node.keywords
        ):
            name = node.func.id if isinstance(node.func, ast.Name) else clip(ast.unparse(node.func), 40)
            raise ArchcalcError(
                f"bad expression {_quote(text)}: function {name!r} is not available "
                f"(available: {', '.join(sorted(FUNCTIONS))}; positional arguments only)"
            )
    return tree, count


def _quote(text: str) -> str:
    return repr(clip(text, 80))


def evaluate(text: str, scope: Mapping[str, Any]) -> Any:
    """Evaluate `text` with the names in `scope`; raise ArchcalcError on anything wrong."""
    limits = _limits.current()
    if len(text) > limits.max_expression_chars:
        raise ArchcalcError(f"expression {_quote(text)} is {len(text):,} characters long; "
                            + _limits.note(limits, "max_expression_chars"))  # fmt: skip
    tree, count = _parse(text)
    if count > limits.max_expression_nodes:
        raise ArchcalcError(f"expression {_quote(text)} has {count:,} syntax nodes; "
                            + _limits.note(limits, "max_expression_nodes"))  # fmt: skip
    evaluator = _Evaluator(text, scope, limits.max_list_items)
    try:
        return evaluator.visit(tree.body)
    except ArchcalcError:
        raise
    except (ArithmeticError, TypeError, ValueError, IndexError) as exc:
        raise ArchcalcError(f"cannot evaluate {_quote(text)}: {clip(str(exc), 200)}")
    except RecursionError:
        raise ArchcalcError(f"cannot evaluate {_quote(text)}: it nests too deeply")
    finally:
        _limits.count_items(evaluator.items)


def items_within(value: Any, budget: int) -> bool:
    """Whether a (nested) list value holds at most `budget` items and strings; stops counting early."""
    stack, left = [value], budget
    while stack:
        item = stack.pop()
        if isinstance(item, (list, tuple)):
            left -= len(item)
            if left < 0:
                return False
            stack.extend(item)
        elif isinstance(item, str):
            left -= len(item) // 100  # a long string weighs like a few items
            if left < 0:
                return False
    return True


def _check_size(value: Any, text: str, max_items: int) -> Any:
    if not isinstance(value, (int, float, str, list, tuple)):  # complex ((-8) ** 0.5) and anything else
        raise ArchcalcError(f"expression {_quote(text)} gives a {type(value).__name__} ({brief(value)}), "
                            "not a number, boolean, text or list")  # fmt: skip
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if isinstance(value, float) and not math.isfinite(value):
            raise ArchcalcError(f"expression {_quote(text)} is not finite")
        if abs(value) >= MAX_MAGNITUDE:
            raise ArchcalcError(f"expression {_quote(text)} gives a number too large (>= 2**63)")
    elif isinstance(value, (list, tuple, str)) and not items_within(value, max_items):
        raise ArchcalcError(f"expression {_quote(text)} builds a value with too many items; "
                            + _limits.note(_limits.current(), "max_list_items"))  # fmt: skip
    return value


class _Evaluator:
    def __init__(self, text: str, scope: Mapping[str, Any], max_items: int) -> None:
        self.text = text
        self.scope = scope
        self.max_items = max_items
        self.items = 0  # list items and characters produced: a measure of the work done

    def visit(self, node: ast.AST) -> Any:
        value = _check_size(getattr(self, "visit_" + type(node).__name__)(node), self.text, self.max_items)
        if isinstance(value, (list, tuple, str)):
            self.items += len(value)
        return value

    def visit_Constant(self, node: ast.Constant) -> Any:
        if not isinstance(node.value, (int, float, str, bool)):
            raise ArchcalcError(f"bad expression {_quote(self.text)}: constant {brief(node.value)} is not allowed")
        return node.value

    def visit_Name(self, node: ast.Name) -> Any:
        if node.id in self.scope:
            return self.scope[node.id]
        if node.id in ("true", "True"):
            return True
        if node.id in ("false", "False"):
            return False
        from archcalc.errors import closest

        known = sorted(self.scope)
        yaml11 = node.id.lower() in YAML11_BOOLEANS
        raise ArchcalcError(
            f"undefined variable {node.id!r} in {_quote(self.text)}{closest(node.id, known)}"
            + (f"; defined here: {', '.join(known)}" if known and len(known) <= 12 else "")
            + ("; specs read YAML 1.2, where yes, no, on and off are text: write true or false" if yaml11 else "")
        )

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        left, right = self.visit(node.left), self.visit(node.right)
        if isinstance(node.op, ast.Pow):
            if not isinstance(right, (int, float)) or abs(right) > 64:
                raise ArchcalcError(f"bad expression {_quote(self.text)}: exponents are limited to 64")
            if isinstance(left, (int, float)) and abs(left) > 1 and abs(right) * math.log2(abs(left)) > 64:
                raise ArchcalcError(f"expression {_quote(self.text)} gives a number too large")
        if isinstance(node.op, ast.Mult) and (isinstance(left, (str, list)) or isinstance(right, (str, list))):
            raise ArchcalcError(f"bad expression {_quote(self.text)}: cannot repeat strings or lists")
        if isinstance(node.op, ast.Mod) and isinstance(left, str):  # '%999999999d' % 1 is a gigabyte
            raise ArchcalcError(f"bad expression {_quote(self.text)}: strings cannot be formatted with %")
        return _BINARY[type(node.op)](left, right)

    def visit_UnaryOp(self, node: ast.UnaryOp) -> Any:
        value = self.visit(node.operand)
        if isinstance(node.op, ast.Not):
            return not value
        return -value if isinstance(node.op, ast.USub) else +value

    def visit_BoolOp(self, node: ast.BoolOp) -> Any:
        if isinstance(node.op, ast.And):
            result: Any = True
            for value in node.values:
                result = self.visit(value)
                if not result:
                    return result
            return result
        result = False
        for value in node.values:
            result = self.visit(value)
            if result:
                return result
        return result

    def visit_Compare(self, node: ast.Compare) -> Any:
        left = self.visit(node.left)
        for op, comparator in zip(node.ops, node.comparators):
            right = self.visit(comparator)
            if not _COMPARE[type(op)](left, right):
                return False
            left = right
        return True

    def visit_IfExp(self, node: ast.IfExp) -> Any:
        return self.visit(node.body) if self.visit(node.test) else self.visit(node.orelse)

    def visit_Call(self, node: ast.Call) -> Any:
        args = [self.visit(arg) for arg in node.args]
        return FUNCTIONS[node.func.id](*args)  # type: ignore[attr-defined]

    def visit_List(self, node: ast.List) -> Any:
        return [self.visit(element) for element in node.elts]

    visit_Tuple = visit_List

    def visit_Subscript(self, node: ast.Subscript) -> Any:
        container = self.visit(node.value)
        index = self.visit(node.slice)
        if not isinstance(container, (list, tuple, str)) or isinstance(index, bool) or not isinstance(index, int):
            raise ArchcalcError(f"bad expression {_quote(self.text)}: only lists can be indexed, by an integer")
        return container[index]
