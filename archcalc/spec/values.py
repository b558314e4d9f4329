"""Plain values in a spec (variables, block arguments, `input`): expressions evaluated, lists walked.

A value is a number, a boolean, an expression string or a list of values. Lists are bounded before
they are walked (`max_list_items`, counting nested items, so an alias bomb is refused unwalked) and
may nest at most MAX_LIST_NESTING deep, also when expressions build them one variable at a time:
reports print variables recursively.
"""

from __future__ import annotations

from typing import Any, Mapping

from archcalc.errors import ArchcalcError, brief
from archcalc.expr import evaluate, items_within
from archcalc.limits import MAX_MAGNITUDE, Limits, note

MAX_LIST_NESTING = 32
_TOO_DEEP = f"lists in a value nest deeper than {MAX_LIST_NESTING} levels"


def read_value(raw: Any, scope: Mapping[str, Any], limits: Limits) -> Any:
    if isinstance(raw, list) and not items_within(raw, limits.max_list_items):
        raise ArchcalcError("the list has too many items; " + note(limits, "max_list_items"))
    value = _walk(raw, scope, 0)
    if _too_deep(value):
        raise ArchcalcError(_TOO_DEEP)
    return value


def _walk(value: Any, scope: Mapping[str, Any], depth: int) -> Any:
    if isinstance(value, str):
        return evaluate(value, scope)
    if isinstance(value, list):
        if depth >= MAX_LIST_NESTING:
            raise ArchcalcError(_TOO_DEEP)
        return [_walk(item, scope, depth + 1) for item in value]
    if isinstance(value, bool) or (isinstance(value, (int, float)) and abs(value) < MAX_MAGNITUDE):
        return value  # abs(nan) < x is False: NaN falls through to the error below, as does inf
    if isinstance(value, (int, float)):
        raise ArchcalcError(f"the number {brief(value)} is not finite or too large (>= 2**63)")
    raise ArchcalcError(f"a value here is a number, boolean, expression or list, not {brief(value)}")


def _too_deep(value: Any) -> bool:
    """Whether lists in `value` nest deeper than MAX_LIST_NESTING; iterative, bounded by the item limit."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (list, tuple)):
            if depth >= MAX_LIST_NESTING:
                return True
            stack.extend((child, depth + 1) for child in item)
    return False
