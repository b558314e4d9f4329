"""JSON text -> plain data with line numbers: Python's C JSON parser, then one scan for the lines.

`json.loads` builds the data (mappings as LineDict, refusing duplicate keys, NaN and Infinity, and
integers too long to print); one iterative walk turns lists into LineList, counts values and checks
nesting against the same limits as YAML; one scan of the text's brackets and strings then gives every
mapping and list its line and every key written on another line its own. A JSON document is a tree, so
the walk (in document order) and the scan meet the containers in the same order.
"""

from __future__ import annotations

import json
import re
from typing import Any

from archcalc.errors import ArchcalcError, brief
from archcalc.limits import Limits, note, recursion_room
from archcalc.spec.lines import LineDict, LineList

# strings (keys when a colon follows) and brackets
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"(\s*:)?|[\[\]{}]')
MAX_DIGITS = 4000


def _mapping(pairs: list[tuple[str, Any]]) -> LineDict:
    out = LineDict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        duplicate = next(key for key, _ in pairs if key in seen or seen.add(key))  # type: ignore[func-returns-value]
        raise _HookError(f"duplicate key {brief(duplicate)}", "")
    return out


class _HookError(ArchcalcError):
    """Raised inside json.loads, which tells no position: `pattern` finds the line afterwards (its
    `nth` match; the same text inside a string could mislead it, which costs only the line)."""

    def __init__(self, message: str, pattern: str, nth: int = 1) -> None:
        super().__init__(message)
        self.pattern, self.nth = pattern, nth

    def line_in(self, text: str) -> int | None:
        if not self.pattern:
            return _duplicate_line(text)
        for count, match in enumerate(re.finditer(self.pattern, text), 1):
            if count == self.nth:
                return text.count("\n", 0, match.start()) + 1
        return None


def _duplicate_line(text: str) -> int | None:
    """The line of the first key written twice in one mapping (a scan, run only for that error)."""
    seen: list[set | None] = []
    for match in _TOKENS.finditer(text):
        token = match.group(0)[0]
        if token in "[{":
            seen.append(set() if token == "{" else None)
        elif token in "]}":
            if seen:
                seen.pop()
        elif match.group(1) is not None and seen and seen[-1] is not None:
            key = json.loads(match.group(0)[: match.start(1) - match.start()])
            if key in seen[-1]:
                return text.count("\n", 0, match.start()) + 1
            seen[-1].add(key)
    return None


def _constant(name: str) -> Any:
    raise _HookError(f"{name} is not a JSON number (specs hold finite numbers)", re.escape(name))


def _integer(text: str) -> int:
    if len(text) > MAX_DIGITS:
        raise _HookError(f"an integer of {len(text):,} digits is too long", "[0-9]{%d}" % MAX_DIGITS)
    return int(text)


def build(text: str, limits: Limits) -> Any:
    """The JSON document as LineDicts, LineLists and scalars. Raises ArchcalcError with a line."""
    try:
        with recursion_room(limits.max_yaml_nesting, frames_per_level=1):
            data = json.loads(text, object_pairs_hook=_mapping, parse_constant=_constant, parse_int=_integer)
    except json.JSONDecodeError as exc:
        raise ArchcalcError(f"invalid JSON: {exc.msg}", line=exc.lineno) from None
    except _HookError as exc:
        raise ArchcalcError(exc.message, line=exc.line_in(text)) from None
    except RecursionError:
        raise ArchcalcError(f"mappings and lists nest too deeply; {note(limits, 'max_yaml_nesting')}") from None
    if isinstance(data, list):
        data = LineList(data)
    containers, problem = _walk(data, limits)
    _assign_lines(text, containers)
    if problem is not None:
        message, index = problem
        raise ArchcalcError(message, line=containers[index].line)
    return data


def _walk(root: Any, limits: Limits) -> tuple[list[Any], tuple[str, int] | None]:
    """Containers in document order (lists made LineLists in place), and the first limit broken."""
    containers: list[Any] = []
    nodes = 0
    stack = [(root, 1)] if isinstance(root, (dict, list)) else []
    while stack:
        container, depth = stack.pop()
        containers.append(container)
        if depth > limits.max_yaml_nesting:
            return containers, (f"mappings and lists nest too deeply; {note(limits, 'max_yaml_nesting')}",
                                len(containers) - 1)  # fmt: skip
        nodes += len(container)
        if nodes > limits.max_yaml_nodes:
            return containers, (f"the document has too many values; {note(limits, 'max_yaml_nodes')}",
                                len(containers) - 1)  # fmt: skip
        children = []
        if isinstance(container, dict):
            for key, value in container.items():
                if isinstance(value, list):
                    value = container[key] = LineList(value)
                if isinstance(value, (dict, list)):
                    children.append(value)
        else:
            for index, value in enumerate(container):
                if isinstance(value, list):
                    value = container[index] = LineList(value)
                if isinstance(value, (dict, list)):
                    children.append(value)
        stack.extend((child, depth + 1) for child in reversed(children))
    return containers, None


def _assign_lines(text: str, containers: list[Any]) -> None:
    """Give each container its line, and keys and items on other lines theirs, from one scan.

    The scan sees brackets and strings only (numbers, true, false and null are not tokens): a list item
    that is a number gets the line of the item before it, or the list's. Keys come in the order of the
    mapping's own keys (duplicates were refused), so the n-th key token is the n-th key."""
    line, position, opened = 1, 0, 0
    stack: list[tuple[Any, list[int], bool]] = []  # container, lines of its keys or items, is a list
    top: Any = None
    top_lines: list[int] = []
    top_is_list = False
    count = text.count
    for match in _TOKENS.finditer(text):
        start = match.start()
        line += count("\n", position, start)
        position = start
        token = text[start]
        if token == "]" or token == "}":
            if top is None:
                return
            _store(top, top_lines, top_is_list)
            top, top_lines, top_is_list = stack.pop() if stack else (None, [], False)
            continue
        if token == "[" or token == "{":
            if top_is_list:
                top_lines.append(line)
            if opened >= len(containers):
                return
            if top is not None:
                stack.append((top, top_lines, top_is_list))
            top, top_lines, top_is_list = containers[opened], [], token == "["
            opened += 1
            top.line = line
        elif top is not None and (top_is_list or match.group(1) is not None):
            top_lines.append(line)  # a key, or a text item of a list
    while top is not None:
        _store(top, top_lines, top_is_list)
        top, top_lines, top_is_list = stack.pop() if stack else (None, [], False)


def _store(container: Any, lines: list[int], is_list: bool) -> None:
    if is_list:
        if lines and lines[-1] != container.line:
            if len(lines) != len(container):  # numbers among the items: fill in from the item before
                lines = _item_lines(container, lines)
            container.item_lines = tuple(lines)
        return
    key_lines = {key: at for key, at in zip(container, lines) if at != container.line}
    if key_lines:
        container.key_lines = key_lines


def _item_lines(items: list, seen: list[int]) -> list[int]:
    """Lines for every item when only the containers and texts among them were seen."""
    lines, known, last = [], iter(seen), items.line  # type: ignore[attr-defined]
    for item in items:
        if isinstance(item, (str, dict, list)):
            last = next(known, last)
        lines.append(last)
    return lines
