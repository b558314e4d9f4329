"""A fast path for the commonest line of a big spec: one list item that is a flow mapping of plain scalars,

    - {name: u0_conv, type: conv2d, out_channels: 8, kernel: 1, inputs: [a, b]}   # a comment

libyaml turns such a line into about fifteen events, each a Python object with two marks: most of the time
of a 100,000-layer spec. `flow_items(text)` finds these lines with one regular expression, builds each
mapping directly (LineDict, LineList and scalars resolved by the same core schema as yaml_build), and
returns the text with each run of such lines (one after another, at one indentation: items of one list)
replaced by one placeholder scalar on the run's first line and empty lines after it, so libyaml reads one
event per run and every line keeps its number.

Anything unusual leaves a line to libyaml: quotes, anchors, aliases, tags, merge keys, colons or spaces
inside a value, nested mappings, empty or trailing-comma collections, a duplicate or null key, tabs.
yaml_build checks that every placeholder arrives as a list item on the line where it was put and that the
limits hold; where anything differs (a line inside a block scalar, a second plain-scalar line, an error
anywhere) it parses the original text again without this path, so data, lines and errors are exactly
those of the general path (tests/test_yaml_flow.py compares them on generated specs).
"""

from __future__ import annotations

import re
from typing import Any, Callable, NamedTuple

from archcalc.spec.lines import LineDict, LineList

# A plain scalar that means the same in block and flow context: no indicator, no space, no colon, no comma.
_TOKEN = r"[A-Za-z0-9_.][A-Za-z0-9_.+\-]*|-[A-Za-z0-9_.][A-Za-z0-9_.+\-]*"
_VALUE = rf"(?:{_TOKEN}|\[ *(?:(?:{_TOKEN})(?: *, *(?:{_TOKEN}))*)? *\])"
_PAIR = rf"(?:{_TOKEN}): +{_VALUE}"
# The whole line: indentation, '- {', the pairs, '}', then nothing or a comment.
_LINE = re.compile(rf"^ *- (\{{ *({_PAIR}(?: *, *{_PAIR})*) *\}})(?= *$| +#[^\n]*$)", re.MULTILINE)
# Within a line that matched _LINE: its pairs (the key, then a list's items or a value), or its tokens.
_PAIRS = re.compile(r"([^ :,\[\]]+): +(?:\[ *([^\]]*?) *\]|([^ ,\[\]]+))")
_ITEMS = re.compile(r" *, *")
_TOKENS = re.compile(r": +| *, *")
# libyaml also breaks lines at these; with them the line numbers here could differ from libyaml's.
_OTHER_BREAKS = re.compile("[\r\x85\u2028\u2029]")

PLACEHOLDER = "_archcalc_flow_item_"


class FlowText(NamedTuple):
    """The fast lines of a text, built, by runs: `runs[k]` items, holding `scalars[k]` values (keys included, as
    the builder counts toward max_yaml_nodes), one more level of nesting when `nested[k]` (a list inside)."""

    text: str  # the spec text with each run of fast lines replaced by PLACEHOLDER (see above)
    items: list[LineDict]  # in the order of the text; each knows its line (1-based, as the builder counts)
    runs: list[int]  # the items each placeholder stands for, in the order of the text
    scalars: list[int]
    nested: list[bool]


class _Resolved(dict):
    """Token -> value, resolved once (an error leaves the whole text to the general path, which names its line)."""

    def __init__(self, resolve: Callable[[str, int], Any]) -> None:
        super().__init__()
        self.resolve = resolve

    def __missing__(self, token: str) -> Any:
        value = self[token] = self.resolve(token, 0)
        return value


def flow_items(text: str, resolve: Callable[[str, int], Any]) -> FlowText | None:
    """The fast lines of `text`, built, and the text libyaml still reads; None when there are none.

    `resolve(token, line)` is the builder's plain-scalar resolver (it may raise: the caller then parses
    the original text)."""
    if PLACEHOLDER in text or _OTHER_BREAKS.search(text):
        return None
    pieces: list[str] = []
    items: list[LineDict] = []
    runs: list[int] = []
    run_scalars: list[int] = []
    run_nested: list[bool] = []
    start, line, counted = 0, 1, 0
    run_indent, run_next = -1, -1  # the open run's indentation, and where a line continuing it starts
    scalar = _Resolved(resolve).__getitem__
    pairs_of, split, tokens_of = _PAIRS.findall, _ITEMS.split, _TOKENS.split
    for match in _LINE.finditer(text):
        (first, _), (begin, end), (inner_start, inner_end) = match.regs  # the line, '{...}', inside the braces
        line += text.count("\n", counted, begin)
        counted = begin
        inner = text[inner_start:inner_end]
        if "[" not in inner:  # key, value, key, value, ...: built in C
            separated = inner.replace(": ", ", ")
            # one space after each colon and comma (the usual layout) splits with str.split, else by pattern
            rest = separated.replace(", ", "")
            parts = separated.split(", ") if " " not in rest and "," not in rest else tokens_of(inner)
            tokens = map(scalar, parts)
            mapping = LineDict(zip(tokens, tokens))
            if None in mapping or 2 * len(mapping) != len(parts):  # a null or duplicate key
                continue
            scalars, nested = len(parts), False
        else:
            pairs = pairs_of(inner)
            mapping = LineDict()
            scalars, nested = len(pairs), False
            for key_text, list_text, value_text in pairs:
                if value_text:
                    mapping[scalar(key_text)] = scalar(value_text)
                    scalars += 1
                else:
                    value = LineList(map(scalar, split(list_text))) if list_text else LineList()
                    value.line = line
                    mapping[scalar(key_text)] = value
                    scalars += len(value)
                    nested = True
            if len(mapping) != len(pairs) or None in mapping:  # a duplicate or null key: libyaml's path says so
                continue
        mapping.line = line
        if first == run_next and begin - first == run_indent:  # the next item of the open run: an empty line
            pieces.append(text[start:first])
            runs[-1] += 1
            run_scalars[-1] += scalars
            if nested:
                run_nested[-1] = True
        else:
            pieces.append(text[start:begin])
            pieces.append(PLACEHOLDER)
            runs.append(1)
            run_scalars.append(scalars)
            run_nested.append(nested)
            run_indent = begin - first
        start = end
        run_next = text.find("\n", end) + 1  # 0 (no line can continue the run) at the end of the text
        items.append(mapping)
    if not items:
        return None
    pieces.append(text[start:])
    return FlowText("".join(pieces), items, runs, run_scalars, run_nested)
