"""A spec's variables as a user meets them (`archcalc variables SPEC`, and the knobs `archcalc zoo` lists):
name, default as written, resolved value, and meaning.

The meaning is the spec's own comment: the one at the end of the variable's line, after the comment
line above a group of variables when there is one (`# Widths after each transition, derived ...`).
A variable whose default is an expression over other variables is *derived*: set the knobs it comes
from, not it (a `--set` on it still works and wins).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from archcalc.limits import DEFAULT_LIMITS, Limits
from archcalc.spec.source import line_at

# What the usual knob names mean, for specs that leave them uncommented.
COMMON_MEANINGS = {"num_classes": "outputs of the classifier (classes)", "in_channels": "input channels",
                   "width": "width multiplier: scales every channel count", "resolution": "input side in pixels",
                   "depth": "depth multiplier: scales the number of blocks per stage"}  # fmt: skip
_COMMENT = re.compile(r"""(?:"[^"]*"|'[^']*'|[^#"'])*?\s#\s?(.*)$""")


@dataclass
class VariableDoc:
    name: str
    default: Any  # as written in the spec (an expression stays text)
    value: Any  # resolved, with the other defaults
    meaning: str
    derived: bool
    line: int | None


def _trailing_comment(text: str) -> str:
    match = _COMMENT.match(text)
    return match.group(1).strip() if match else ""


def _group_comments(lines: list[str], first: int, last: int) -> dict[int, str]:
    """Line number -> the comment line(s) above it within the variables section, if any."""
    groups: dict[int, str] = {}
    current, previous_was_comment = "", False
    for number in range(first, last + 1):
        stripped = lines[number - 1].strip() if number - 1 < len(lines) else ""
        if stripped.startswith("#"):
            current = (current + " " if current and previous_was_comment else "") + stripped.lstrip("#").strip()
            previous_was_comment = True
            continue
        previous_was_comment = False
        groups[number] = current
    return groups


def spec_variables(spec: str, limits: Limits = DEFAULT_LIMITS) -> tuple[str, list[VariableDoc]]:
    """(the spec's name, its variables in the order declared)."""
    from archcalc.spec import read_spec_document

    document = read_spec_document(spec, limits)
    data = document.data if isinstance(document.data, dict) else {}
    declared = data.get("variables") or {}
    if not isinstance(declared, dict):
        return document.path.stem, []
    graph = document.graph(limits=limits)
    text = document.path.read_text(encoding="utf-8", errors="replace").splitlines()
    numbers = [line_at(declared, name) for name in declared]
    known = [n for n in numbers if n is not None]
    groups = _group_comments(text, min(known), max(known)) if known else {}
    names = [name for name in declared if isinstance(name, str)]
    out = []
    for name, number in zip(names, numbers):
        default = declared[name]
        own = _trailing_comment(text[number - 1]) if number and number - 1 < len(text) else ""
        group = groups.get(number, "") if number else ""
        meaning = "; ".join(part for part in (own, group) if part)
        texts = [default] if isinstance(default, str) else [v for v in default if isinstance(v, str)] \
            if isinstance(default, list) else []  # fmt: skip
        derived = any(re.search(rf"\b{re.escape(other)}\b", text) for text in texts for other in names if other != name)
        meaning = meaning or COMMON_MEANINGS.get(name, "")
        out.append(VariableDoc(name, default, graph.variables.get(name, default), meaning, derived, number))
    return graph.name, out


__all__ = ["VariableDoc", "spec_variables"]
