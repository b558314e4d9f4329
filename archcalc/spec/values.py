"""Plain values in a spec (variables, block arguments, `input`): expressions evaluated, lists walked.

`read_variables` and `read_input_shape` read the document's `variables` (with `--set` overrides,
top to bottom) and `input` (with `--input`).

A value is a number, a boolean, an expression string or a list of values. Lists are bounded before
they are walked (`max_list_items`, counting nested items, so an alias bomb is refused unwalked) and
may nest at most MAX_LIST_NESTING deep, also when expressions build them one variable at a time:
reports print variables recursively.
"""

from __future__ import annotations

import keyword
from typing import Any, Mapping

from archcalc.graph import WEIGHT_KEYS, WeightUse
from archcalc.errors import ArchcalcError, brief, closest
from archcalc.expr import evaluate, items_within
from archcalc.layers import numel
from archcalc.limits import DEFAULT_LIMITS, MAX_INPUT_RANK, MAX_MAGNITUDE, Limits, note
from archcalc.spec.source import line_at as _line

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


def check_plain_value(value: Any, limits: Limits) -> Any:
    """A value given outside a spec (`--set`): what a spec variable may hold once evaluated.

    Booleans, integers below 2**63 in magnitude, finite floats, strings within
    `max_expression_chars`, and lists of these within `max_list_items` (nested items counted) and
    MAX_LIST_NESTING levels. Everything else (dates, bytes, sets, mappings, null inside a list) is
    refused; the walk is iterative and bounded, so an alias bomb is refused unwalked.
    """
    if isinstance(value, list) and not items_within(value, limits.max_list_items):
        raise ArchcalcError("the list has too many items; " + note(limits, "max_list_items"))
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, list):
            if depth >= MAX_LIST_NESTING:
                raise ArchcalcError(_TOO_DEEP)
            stack.extend((child, depth + 1) for child in item)
        elif isinstance(item, str):
            if len(item) > limits.max_expression_chars:
                raise ArchcalcError(f"a text of {len(item):,} characters; " + note(limits, "max_expression_chars"))
        elif not representable(item):
            raise ArchcalcError(not_representable(item))
    return value


def representable(value: Any) -> bool:
    """Whether a scalar is one a spec can hold and JSON can print: a boolean, an integer below 2**63 in
    magnitude or a finite float."""
    if isinstance(value, bool):
        return True
    if isinstance(value, int):
        return abs(value) < MAX_MAGNITUDE
    return isinstance(value, float) and abs(value) < MAX_MAGNITUDE  # false for NaN and infinities


def not_representable(value: Any) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"the number {brief(value)} is not finite or too large (>= 2**63)"
    return f"a value here is a number, boolean, text or list, not {brief(value)} ({type(value).__name__})"


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


def listing(names: Any) -> str:
    """Up to 30 names, for messages that list what exists."""
    return ", ".join(brief(name, 30) for name in list(names)[:30]) + (", ..." if len(names) > 30 else "") or "none"


def read_variables(doc: Mapping[str, Any], overrides: Mapping[str, Any], file: str | None, limits: Limits,
                   reserved: str) -> dict[str, Any]:  # fmt: skip
    """The spec's variables, evaluated top to bottom; `--set` overrides replace values before that."""
    raw = doc.get("variables")
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ArchcalcError("'variables' must map names to values", file=file, line=_line(doc, "variables"))
    for name in overrides:
        if name not in raw:
            raise ArchcalcError(f"--set {name}: the spec has no variable {name!r}{closest(name, list(raw))}"
                                f" (variables: {listing(raw)})", file=file)  # fmt: skip
    scope: dict[str, Any] = {}
    for name, value in raw.items():
        if not isinstance(name, str) or not name.isidentifier() or name == reserved or keyword.iskeyword(name):
            raise ArchcalcError(f"bad variable name {brief(name)} (use an identifier, not a Python keyword, other "
                                f"than {reserved!r})",
                                file=file, line=_line(raw, name))  # fmt: skip
        if name in overrides:
            scope[name] = overrides[name]
            continue
        try:
            scope[name] = read_value(value, scope, limits)
        except ArchcalcError as exc:
            later = [other for other in raw if isinstance(other, str) and other != name and other not in scope
                     and f"variable '{other}' in" in exc.message]  # fmt: skip
            if later:  # not a typo: the name is defined further down
                exc.message += f" ('{later[0]}' is defined later; variables are read top to bottom)"
            raise exc.located(file=file, line=_line(raw, name)) from None
    return scope


def read_input_shape(raw: Any, variables: Mapping[str, Any], file: str | None, line: int | None,
                     limits: Limits) -> tuple[int, ...]:  # fmt: skip
    """`input`: positive integers ([C, H, W], [C, L], [F], ...; the layers say which ranks they take),
    within `max_elements`."""
    try:
        value = read_value(raw, variables, limits)
    except ArchcalcError as exc:
        raise exc.located(file=file, line=line) from None
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_INPUT_RANK:
        raise ArchcalcError(f"'input' must be a list of 1 to {MAX_INPUT_RANK} sizes ([C, H, W], [C, L], [F], ...), "
                            f"got {brief(value)}", file=file, line=line)  # fmt: skip
    for size in value:
        if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
            raise ArchcalcError(f"'input' sizes must be positive integers, got {brief(value)}", file=file, line=line)
    if numel(tuple(value)) > limits.max_elements:
        raise ArchcalcError(f"the input {brief(value)} has {numel(tuple(value)):,} elements; "
                            + note(limits, "max_elements"), file=file, line=line)  # fmt: skip
    return tuple(value)

INPUT_USAGE = "--input takes positive sizes separated by x, like 3x224x224, 16x100 or 784"


def check_input_shape(shape: tuple[int, ...], limits: Limits = DEFAULT_LIMITS, text: str | None = None) -> None:
    """An input shape given by the user (not the spec): positive integer sizes, within --max-elements."""
    given = text if text is not None else "x".join(str(size) for size in shape)
    if not isinstance(shape, tuple) or not 1 <= len(shape) <= MAX_INPUT_RANK:
        raise ArchcalcError(f"--input takes 1 to {MAX_INPUT_RANK} sizes, got {brief(given)}")
    elements = 1
    for size in shape:
        if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
            raise ArchcalcError(f"{INPUT_USAGE}, got {brief(given)}")
        elements *= size
    if elements > limits.max_elements:
        raise ArchcalcError(f"--input {brief(given)} has {elements:,} elements; {note(limits, 'max_elements')}")


def read_weights(raw: Any, scope: Mapping[str, Any], limits: Limits) -> WeightUse:
    """A layer's `weights: {frozen: n, masks: n, shared: n, shared_buffers: n}` (see graph.WeightUse)."""
    if not isinstance(raw, dict):
        raise ArchcalcError(f"'weights' must map {', '.join(WEIGHT_KEYS)} to element counts, got {brief(raw)}")
    value = {key: read_value(count, scope, limits) for key, count in raw.items()}
    for key, count in value.items():
        if key not in WEIGHT_KEYS:
            raise ArchcalcError(f"'weights' has no key {brief(key)}{closest(str(key), list(WEIGHT_KEYS))}; its keys: "
                                f"{', '.join(WEIGHT_KEYS)}")  # fmt: skip
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ArchcalcError(f"weights.{key} must be a count (an integer >= 0), got {brief(count)}")
    return WeightUse(**value)
