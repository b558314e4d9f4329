"""What expanding a spec costs, and what it can do once for many items.

The expander counts work against `Limits.max_layers` (see spec/expand.py): list items in attribute
values count (`list_items`), and a repeat whose items never read the index (`uses_index`) expands alike
every time, so its total is known after the first instance. Attributes written as literals resolve
alike wherever they are written (`literal_key`): a big spec resolves each such set once, and charges
each use the same list items.
"""

from __future__ import annotations

import re
from typing import Any

REPEAT_INDEX = "i"
# An entry's list items (in attributes, arguments, inputs and what its expressions touch) are free up to
# FREE_ITEMS; beyond, every ITEMS_PER_STEP of them count as one step of work (Expander._charge).
FREE_ITEMS, ITEMS_PER_STEP = 64, 10
_LITERALS = frozenset((int, bool, type(None)))
_INDEX_NAME = re.compile(rf"(?<![\w.]){REPEAT_INDEX}(?!\w)")


def uses_index(item: Any) -> bool:
    """Whether any text in `item` may read the repeat index (then instances may differ in size)."""
    stack, seen = [item], set()
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if _INDEX_NAME.search(value):
                return True
        elif isinstance(value, (dict, list)) and id(value) not in seen:  # aliases are shared: visit once
            seen.add(id(value))
            stack.extend(value.values() if isinstance(value, dict) else value)
    return False


def literal_key(type_name: str, raw: dict) -> tuple | None:
    """A key for attributes written as integers, booleans and nulls only: they resolve the same wherever
    they are written (no expression to evaluate), so a big spec resolves each such set once. Types are
    part of the key: `bias: 1` is not `bias: true`."""
    types = tuple(map(type, raw.values()))
    if not _LITERALS.issuperset(types):
        return None
    return type_name, tuple(raw.items()), types


def list_items(values: Any) -> int:
    """List items in `values`, nested lists included (aliases may share them: each use counts)."""
    items = 0
    for value in values:
        if isinstance(value, (list, tuple)):  # rare: walk the lists
            stack = [value]
            while stack:
                value = stack.pop()
                if isinstance(value, (list, tuple)):
                    items += len(value)
                    stack.extend(value)
    return items
