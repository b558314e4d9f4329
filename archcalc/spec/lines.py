"""Parsed spec data that remembers where it was written: every error can name its line.

Both parsers (YAML: spec/yaml_build.py, JSON: spec/json_build.py) build mappings as LineDict and lists
as LineList. A key or item written on the line of its mapping or list keeps no line of its own (a
100,000-layer spec in flow style needs no million-entry line tables).
"""

from __future__ import annotations

from typing import Any


class LineDict(dict):
    """A dict from a spec file that remembers the line it starts on and the line of each key."""

    line: int | None = None
    key_lines: dict = {}  # only keys on another line than the mapping's own

    def line_of(self, key: Any) -> int | None:
        return self.key_lines.get(key, self.line)


class LineList(list):
    """A list from a spec file that remembers the line of each item."""

    line: int | None = None
    item_lines: tuple[int, ...] = ()  # empty when every item is on the list's own line

    def line_of(self, index: int) -> int | None:
        return self.item_lines[index] if 0 <= index < len(self.item_lines) else self.line


def line_at(item: Any, key: Any = None) -> int | None:
    """The line of `item` (key None) or of one of its keys or indexes; None for values not read from a file."""
    try:  # LineDict and LineList (the common case, on the hot path of big specs)
        return item.line if key is None else item.line_of(key)
    except AttributeError:  # a value not read from a file
        return None
