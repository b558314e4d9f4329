"""Bounds that stop runaway inputs: how big a spec may be and how much work it may ask for.

Every limit has a CLI flag that raises it (`--max-layers 500000`); see docs/errors.md. The defaults
are far above any real network (the largest built-in specs use a few hundred layers) and far below
what would hang or exhaust the machine.

Expression limits are read while a spec is expanded: `Expander` activates the graph's limits with
`active(limits)`, and `archcalc.expr` reads them with `current()`, so attribute parsers do not need
to pass them along. The same context meters the list items expressions touch (`count_items`), which
the expander charges as work (`take_items`): an expression run once per layer may not hide a
million list operations.
"""

from __future__ import annotations

import contextlib
import sys
from contextvars import ContextVar
from dataclasses import dataclass, fields
from typing import Iterator

from archcalc.errors import ArchcalcError

# Integers are refused beyond this magnitude (a fixed sanity bound, not a flag): no size is that large,
# and it keeps every product of sizes a modest Python int.
MAX_MAGNITUDE = 2**63
# Nesting is walked recursively (by PyYAML's constructor and by the expander), with room made for it
# (`recursion_room`); beyond this many levels the C stack itself would be at risk.
NESTING_CEILING = 1000
# Most axes an input shape may have (`input:` or `--input`): [F], [C, L], [C, H, W], [C, D, H, W], ...
# The layer types say which ranks they take; this only stops `--input 1x1x...x1` with a million sizes.
MAX_INPUT_RANK = 8


@dataclass(frozen=True)
class Limits:
    """Bounds on a spec. Each field is a CLI flag: `max_layers` is `--max-layers`."""

    max_file_bytes: int = 16 * 2**20
    max_yaml_nesting: int = 200
    max_yaml_nodes: int = 2_000_000
    max_layers: int = 200_000
    max_depth: int = 64
    max_expression_chars: int = 1000
    max_expression_nodes: int = 300
    max_list_items: int = 10_000
    max_elements: int = 2**40

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ArchcalcError(f"{flag(item.name)} takes a positive integer, got {value!r}")
        for name in ("max_yaml_nesting", "max_depth"):
            if getattr(self, name) > NESTING_CEILING:
                raise ArchcalcError(f"{flag(name)} can be at most {NESTING_CEILING:,}, got {getattr(self, name):,}")


# What each limit bounds, for --help and docs/errors.md.
LIMIT_HELP = {
    "max_file_bytes": "Largest spec file, in bytes.",
    "max_yaml_nesting": "Deepest nesting of YAML mappings and lists.",
    "max_yaml_nodes": "Most YAML values in a spec, counting copies made by merge keys (<<).",
    "max_layers": "Most layers after expanding blocks and repeats (groups, entries dropped by `when` and "
                  "long attribute lists count too).",
    "max_depth": "Deepest nesting of groups and block instances.",
    "max_expression_chars": "Longest expression, in characters.",
    "max_expression_nodes": "Most syntax nodes in one expression.",
    "max_list_items": "Most items in a list value (variables, expression results), nested lists included.",
    "max_elements": "Most elements in one layer's output (per sample).",
}

DEFAULT_LIMITS = Limits()



class _Context:
    """The limits in force and the list items expressions touched since the last `take_items`."""

    __slots__ = ("limits", "items")

    def __init__(self, limits: Limits) -> None:
        self.limits, self.items = limits, 0


_ACTIVE: ContextVar[_Context] = ContextVar("archcalc_limits", default=_Context(DEFAULT_LIMITS))


def flag(name: str) -> str:
    """The CLI flag of a limit: max_layers -> --max-layers."""
    return "--" + name.replace("_", "-")


def note(limits: Limits, name: str) -> str:
    """A message tail naming the limit and the flag that raises it."""
    return f"the limit is {getattr(limits, name):,} ({flag(name)} raises it)"


def current() -> Limits:
    """The limits in force (set with `active`), else the defaults."""
    return _ACTIVE.get().limits


def count_items(items: int) -> None:
    _ACTIVE.get().items += items


def take_items() -> int:
    """List items counted since the last call (and reset the count)."""
    context = _ACTIVE.get()
    items, context.items = context.items, 0
    return items


@contextlib.contextmanager
def recursion_room(levels: int, frames_per_level: int = 12) -> Iterator[None]:
    """Let recursive walks go `levels` deep (bounded by NESTING_CEILING) without a RecursionError."""
    needed = 1000 + min(levels, NESTING_CEILING) * frames_per_level
    old = sys.getrecursionlimit()
    if needed > old:
        sys.setrecursionlimit(needed)
    try:
        yield
    finally:
        if needed > old:
            sys.setrecursionlimit(old)


@contextlib.contextmanager
def active(limits: Limits) -> Iterator[Limits]:
    token = _ACTIVE.set(_Context(limits))
    try:
        yield limits
    finally:
        _ACTIVE.reset(token)
