"""Attribute kinds for layer types: parsing, defaults, validation and JSON-schema fragments.

A layer type declares its attributes as a tuple of `Attr`. Values in a spec may be literals or
expression strings (see `archcalc.expr`); `Attr.parse` evaluates and validates them and returns the
canonical form the rules use (for example `kernel: 3` becomes `(3, 3)`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from archcalc.errors import ArchcalcError, brief
from archcalc import limits
from archcalc.expr import evaluate, items_within
from archcalc.limits import MAX_MAGNITUDE

REQUIRED = object()


def _resolve(value: Any, scope: Mapping[str, Any]) -> Any:
    """Evaluate an expression string; leave other values alone."""
    return evaluate(value, scope) if isinstance(value, str) else value


def _as_int(name: str, value: Any, minimum: int | None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        hint = " (wrap the expression in int(...) or round(...))" if isinstance(value, float) else ""
        raise ArchcalcError(f"attribute '{name}' must be an integer, got {brief(value)}{hint}")
    if abs(value) >= MAX_MAGNITUDE:
        raise ArchcalcError(f"attribute '{name}' is too large: a number of {len(str(abs(value)))} digits (limit 2**63)")
    if minimum is not None and value < minimum:
        what = "positive" if minimum == 1 else f">= {minimum}"
        raise ArchcalcError(f"attribute '{name}' must be {what}, got {value}")
    return value


def plain(value: Any) -> Any:
    """A parsed value as a spec would write it: tuples become lists."""
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value


@dataclass(frozen=True)
class Kind:
    """How one attribute's value is parsed, described and written back (`dump`, the inverse of parse)."""

    parse: Callable[[str, Any, Mapping[str, Any]], Any]
    schema: dict
    describe: str
    dump: Callable[[Any], Any] = plain


def Int(minimum: int | None = 1) -> Kind:
    def parse(name: str, value: Any, scope: Mapping[str, Any]) -> int:
        return _as_int(name, _resolve(value, scope), minimum)

    schema = {"oneOf": [{"type": "integer"} | ({"minimum": minimum} if minimum is not None else {}), _EXPR]}
    return Kind(parse, schema, "integer" + (f" >= {minimum}" if minimum is not None else ""))


def Float(minimum: float | None = None, maximum: float | None = None) -> Kind:
    def parse(name: str, value: Any, scope: Mapping[str, Any]) -> float:
        value = _resolve(value, scope)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ArchcalcError(f"attribute '{name}' must be a number, got {brief(value)}")
        if not abs(value) < MAX_MAGNITUDE:  # also refuses .nan and .inf
            raise ArchcalcError(f"attribute '{name}' must be a finite number below 2**63, got {brief(value)}")
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            wanted = (f"at least {minimum:g}" if maximum is None else f"at most {maximum:g}" if minimum is None
                      else f"between {minimum:g} and {maximum:g}")  # fmt: skip
            raise ArchcalcError(f"attribute '{name}' must be {wanted}, got {brief(value)}")
        return float(value)

    bounds = {k: v for k, v in (("minimum", minimum), ("maximum", maximum)) if v is not None}
    return Kind(parse, {"oneOf": [{"type": "number", **bounds}, _EXPR]}, "number")


def Bool() -> Kind:
    def parse(name: str, value: Any, scope: Mapping[str, Any]) -> bool:
        value = _resolve(value, scope)
        if not isinstance(value, bool):
            raise ArchcalcError(f"attribute '{name}' must be true or false, got {brief(value)}")
        return value

    return Kind(parse, {"oneOf": [{"type": "boolean"}, _EXPR]}, "boolean")


def Choice(*options: str) -> Kind:
    def parse(name: str, value: Any, scope: Mapping[str, Any]) -> str:
        from archcalc.errors import closest

        if isinstance(value, str) and value not in options:
            if value.isidentifier() and value not in scope:  # a misspelt option, not an expression
                raise ArchcalcError(f"attribute '{name}' must be one of {', '.join(options)}; "
                                    f"got {brief(value)}{closest(value, options)}")  # fmt: skip
            value = evaluate(value, scope)  # an expression that yields one of the options
        if not isinstance(value, str) or value not in options:
            hint = closest(value, options)
            raise ArchcalcError(f"attribute '{name}' must be one of {', '.join(options)}; got {brief(value)}{hint}")
        return value

    return Kind(parse, {"type": "string", "enum": list(options)}, " | ".join(options))


_AXES_TEXT = {1: "[l]", 2: "[h, w]", 3: "[d, h, w]"}
_AXES_WORDS = {1: "[length]", 2: "[height, width]", 3: "[depth, height, width]"}
_SIDES_TEXT = {1: "[left, right]", 2: "[top, bottom, left, right]", 3: "[front, back, top, bottom, left, right]"}


def Sizes(rank: int, minimum: int = 1) -> Kind:
    """An int for every spatial axis, or one per axis ([h, w] for rank 2, [d, h, w] for rank 3)."""
    axes = _AXES_TEXT.get(rank, f"{rank} integers")

    def parse(name: str, value: Any, scope: Mapping[str, Any]) -> tuple[int, ...]:
        value = _resolve(value, scope)
        if isinstance(value, (list, tuple)):
            if len(value) != rank:
                words = _AXES_WORDS.get(rank, axes)
                raise ArchcalcError(f"attribute '{name}' takes one integer or {words}, got {brief(value)}")
            return tuple(_as_int(name, _resolve(item, scope), minimum) for item in value)
        return (_as_int(name, value, minimum),) * rank

    def dump(value: tuple[int, ...]) -> Any:
        return value[0] if len(set(value)) == 1 else list(value)

    one = {"oneOf": [{"type": "integer", "minimum": minimum}, _EXPR]}
    return Kind(parse, {"oneOf": [one, {"type": "array", "items": one, "minItems": rank, "maxItems": rank}]},
                f"integer or {axes.replace('[l]', '[length]')}, each >= {minimum}", dump)  # fmt: skip


def Pair(minimum: int = 1) -> Kind:
    """An int for both spatial axes, or [height, width]."""
    return Sizes(2, minimum)


def AxisSizes(minimum: int = 1) -> Kind:
    """Sizes for however many spatial axes the input has: one int for all, or a list of 1 to 3.

    Parsed to an int (every axis) or a tuple; `per_axis` expands it once the input's rank is known.
    """

    def parse(name: str, value: Any, scope: Mapping[str, Any]) -> int | tuple[int, ...]:
        value = _resolve(value, scope)
        if isinstance(value, (list, tuple)):
            if not 1 <= len(value) <= 3:
                raise ArchcalcError(f"attribute '{name}' takes one integer or a list of 1 to 3, got {brief(value)}")
            return tuple(_as_int(name, _resolve(item, scope), minimum) for item in value)
        return _as_int(name, value, minimum)

    def dump(value: Any) -> Any:
        return list(value) if isinstance(value, tuple) else value  # an int stays one: it means every axis

    one = {"oneOf": [{"type": "integer", "minimum": minimum}, _EXPR]}
    return Kind(parse, {"oneOf": [one, {"type": "array", "items": one, "minItems": 1, "maxItems": 3}]},
                f"integer or one per spatial axis, each >= {minimum}", dump)  # fmt: skip


def per_axis(layer: str, name: str, value: int | tuple[int, ...], rank: int) -> tuple[int, ...]:
    """An `AxisSizes` value for `rank` spatial axes; a list of the wrong length is an error."""
    if isinstance(value, int):
        return (value,) * rank
    if len(value) != rank:
        raise ArchcalcError(f"{layer}: {name} {list(value)} has {len(value)} sizes, but the input has {rank} "
                            f"spatial axes")  # fmt: skip
    return tuple(value)


def Padding(rank: int = 2, minimum: int | None = 0, keep_valid: bool = False) -> Kind:
    """int | one per axis | (before, after) per axis | 'same' | 'valid' -> 'same' or flat (before, after, ...).

    For two axes: int, [h, w] or [top, bottom, left, right]. `minimum` None: negative sides (crops) allowed.
    `keep_valid`: 'valid' stays the string (a conv built with torch's own 'valid'; geometry.resolve_padding reads
    it as no padding), instead of becoming zeros."""
    axes, per_side = _AXES_TEXT.get(rank, f"{rank} integers"), _SIDES_TEXT.get(rank, f"{2 * rank} integers")

    def keyword(value: str) -> str | tuple[int, ...]:
        return value if value == "same" or keep_valid else (0,) * (2 * rank)

    def parse(name: str, value: Any, scope: Mapping[str, Any]) -> str | tuple[int, ...]:
        if value in ("same", "valid"):
            return keyword(value)
        value = _resolve(value, scope)
        if value in ("same", "valid"):
            return keyword(value)
        if isinstance(value, (list, tuple)):
            sides = [_as_int(name, _resolve(v, scope), minimum) for v in value]
            if len(sides) == rank:
                return tuple(side for size in sides for side in (size, size))
            if len(sides) == 2 * rank:
                return tuple(sides)
            raise ArchcalcError(f"attribute '{name}' takes an int, {axes}, {per_side}, 'same' or 'valid'; "
                                f"got {brief(value)}")  # fmt: skip
        p = _as_int(name, value, minimum)
        return (p,) * (2 * rank)

    def dump(value: Any) -> Any:
        if value in ("same", "valid"):
            return value
        if len(set(value)) == 1:
            return value[0]
        befores, afters = value[0::2], value[1::2]
        return list(befores) if befores == afters else list(value)

    one = {"oneOf": [{"type": "integer"} | ({} if minimum is None else {"minimum": minimum}), _EXPR]}
    # anyOf: "same" is both a keyword and a string (which an expression also is)
    schema = {"anyOf": [one, {"enum": ["same", "valid"]},
                        {"type": "array", "items": one, "minItems": rank, "maxItems": 2 * rank}]}  # fmt: skip
    return Kind(parse, schema, f"int, {axes}, {per_side}, same or valid", dump)


def IntList(minimum: int | None = 1, allow_minus_one: bool = False) -> Kind:
    def parse(name: str, value: Any, scope: Mapping[str, Any]) -> tuple[int, ...]:
        value = _resolve(value, scope)
        if not isinstance(value, (list, tuple)) or not value:
            raise ArchcalcError(f"attribute '{name}' must be a non-empty list of integers, got {brief(value)}")
        out = []
        for item in value:
            item = _resolve(item, scope)
            out.append(_as_int(name, item, None if allow_minus_one and item == -1 else minimum))
        return tuple(out)

    item = {"oneOf": [{"type": "integer"}, _EXPR]}
    return Kind(parse, {"type": "array", "items": item, "minItems": 1}, "list of integers")


def Table() -> Kind:
    """A connection table: for each output map, the list of input maps it reads."""

    def parse(name: str, value: Any, scope: Mapping[str, Any]) -> tuple[tuple[int, ...], ...]:
        value = _resolve(value, scope)
        if not isinstance(value, (list, tuple)) or not value:
            raise ArchcalcError(f"attribute '{name}' must be a list (one entry per output map) of input-map lists")
        if not items_within(value, limits.current().max_list_items):  # rows may all be one aliased list
            raise ArchcalcError(f"attribute '{name}' has too many entries; "
                                + limits.note(limits.current(), "max_list_items"))  # fmt: skip
        rows = []
        for index, row in enumerate(value):
            row = _resolve(row, scope)
            if not isinstance(row, (list, tuple)) or not row:
                raise ArchcalcError(f"attribute '{name}' row {index} must be a non-empty list of input maps")
            parsed = tuple(_as_int(name, _resolve(v, scope), 0) for v in row)
            if len(set(parsed)) != len(parsed):
                raise ArchcalcError(f"attribute '{name}' row {index} lists an input map twice: {brief(list(parsed))}")
            rows.append(parsed)
        return tuple(rows)

    schema = {"type": "array", "items": {"type": "array", "items": {"type": "integer", "minimum": 0}}}
    return Kind(parse, schema, "list of lists of input-map indices")


def Text() -> Kind:
    """Free text, taken literally (never evaluated as an expression)."""

    def parse(name: str, value: Any, scope: Mapping[str, Any]) -> str:
        if not isinstance(value, str):
            raise ArchcalcError(f"attribute '{name}' must be a string, got {brief(value)}")
        return value

    return Kind(parse, {"type": "string"}, "text")


_EXPR = {"type": "string", "description": "an expression over the spec's variables"}


@dataclass(frozen=True)
class Attr:
    """One attribute of a layer type."""

    name: str
    kind: Kind
    default: Any = REQUIRED
    doc: str = ""
    aliases: tuple[str, ...] = field(default=())

    @property
    def required(self) -> bool:
        return self.default is REQUIRED
