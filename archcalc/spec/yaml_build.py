"""YAML text -> plain data with line numbers, in one pass over libyaml's event stream.

PyYAML's composer and constructor are slow (most of the time of a 100,000-layer spec) and recursive;
this builder reads libyaml's events (`yaml._yaml.CParser`, the C parser) once, iteratively, and so:

- tracks nesting and counts values as it goes, refusing a document beyond `max_yaml_nesting` or
  `max_yaml_nodes` at the event where it happens (no recursion: deep nesting cannot crash it);
- resolves plain scalars by YAML 1.2's core schema, not YAML 1.1's: `010` is 10, `0o10` is 8,
  `1:04`, `yes`, `no`, `on` and `off` are text, `1e3` is a float; quoted scalars are text;
- shares anchors instead of copying them: an alias is the anchored object itself, so ten levels of ten
  aliases are ten small lists (what later walks them is bounded by the limits); an alias to a mapping
  or list that is still open is refused;
- applies merge keys (`<<: *base`, `<<: [*a, *b]`): keys written in the mapping win, earlier sources
  win over later ones, merged keys come first; every copied entry counts toward `max_yaml_nodes`;
- refuses duplicate keys, keys that are not plain scalars, and every tag except the core ones
  (`!!str`, `!!int`, `!!float`, `!!bool`, `!!null`, `!!seq`, `!!map`): no dates, bytes, sets or
  Python objects can enter a spec.

Mappings become LineDict (the line of the mapping and of each key) and lists LineList (the line of each
item), so every later error can name its line.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

try:
    from yaml._yaml import CParser as _Parser
except ImportError:  # PyYAML built without libyaml: its Python parser gives the same events, slower
    from yaml import SafeLoader as _Parser  # type: ignore[assignment]

from archcalc.errors import ArchcalcError, brief
from archcalc.limits import Limits, note
from archcalc.spec.lines import LineDict, LineList
from archcalc.spec.yaml_flow import PLACEHOLDER, FlowText, flow_items

CORE = "tag:yaml.org,2002:"
MERGE = "<<"
_TAG_NAMES = {CORE + name: name for name in ("str", "int", "float", "bool", "null", "seq", "map")}

# YAML 1.2 core schema (https://yaml.org/spec/1.2.2/#1032-tag-resolution).
_NULL = frozenset(("", "~", "null", "Null", "NULL"))
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INT = re.compile(r"[-+]?[0-9]+\Z")
_OCT = re.compile(r"0o[0-7]+\Z")
_HEX = re.compile(r"0x[0-9a-fA-F]+\Z")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?\Z")
_INF = re.compile(r"[-+]?\.(?:inf|Inf|INF)\Z")
_NAN = re.compile(r"\.(?:nan|NaN|NAN)\Z")
MAX_DIGITS = 4000  # Python refuses to convert integers of more than 4300 digits


def _plain(value: str, line: int) -> Any:
    """A plain scalar by the core schema: null, boolean, integer, float, else text."""
    first = value[:1]
    if first and (first.isdigit() or first in "-+."):  # the common case, text, skips every pattern
        if _INT.match(value):
            if len(value) > MAX_DIGITS:
                raise ArchcalcError(f"an integer of {len(value):,} digits is too long", line=line)
            return int(value)
        if _FLOAT.match(value):
            return float(value)
        if _OCT.match(value):
            return int(value[2:], 8)
        if _HEX.match(value):
            return int(value[2:], 16)
        if _INF.match(value):
            return float("-inf") if value[0] == "-" else float("inf")
        if _NAN.match(value):
            return float("nan")
        return value
    if value in _NULL:
        return None
    boolean = _BOOL.get(value)
    return value if boolean is None else boolean


def _tagged(tag: str, value: str, line: int) -> Any:
    """A scalar with an explicit core tag (`!!int "3"`)."""
    name = _TAG_NAMES[tag]
    if name == "str":
        return value
    resolved = _plain(value, line)
    wanted = {"int": int, "float": (int, float), "bool": bool, "null": type(None)}.get(name)
    if wanted is None or isinstance(resolved, bool) != (name == "bool") or not isinstance(resolved, wanted):
        raise ArchcalcError(f"{brief(value)} is not a valid !!{name}", line=line)
    return float(resolved) if name == "float" else resolved


def _refuse_tag(tag: str, line: int) -> None:
    if tag in _TAG_NAMES or tag == "!":
        return
    shown = tag.replace(CORE, "!!")
    raise ArchcalcError(f"YAML tag {shown} is not allowed (specs hold plain data only)", line=line)


_NO_KEY = object()
_MISSING = object()
_FLOW = object()  # the plain-scalar cache's value for yaml_flow's placeholder


class _Diverged(Exception):
    """The fast lines of yaml_flow did not arrive as they were built: parse the original text instead."""


def build(text: str, limits: Limits) -> Any:
    """The single document in `text` as LineDicts, LineLists and scalars (None for an empty document).

    Raises ArchcalcError with a line (no file: the caller adds it), or yaml.YAMLError from libyaml.
    Lines that are one flow mapping of plain scalars are built by yaml_flow; on any error or doubt the
    original text is parsed again without them, so results and errors are the general path's.
    """
    try:
        fast = flow_items(text, _plain)
        if fast is not None:
            return _build(fast.text, limits, fast)
    except (_Diverged, ArchcalcError, yaml.YAMLError):
        pass
    return _build(text, limits)


def _build(text: str, limits: Limits, fast: FlowText | None = None) -> Any:
    """The builder over libyaml's events; `fast` holds yaml_flow's mappings, a run of them per placeholder.

    The loop keeps the open container's state in locals (this is the hot path of big specs): `items`
    is its object, `key` the key waiting for a value (mappings), `lines` the key or item lines that
    differ from the container's own line, `merges` the mappings its merge keys bring in.
    """
    get = _Parser(text).get_event
    scalar_t, alias_t = yaml.ScalarEvent, yaml.AliasEvent
    map_t, seq_t, map_end_t, seq_end_t = (yaml.MappingStartEvent, yaml.SequenceStartEvent,
                                          yaml.MappingEndEvent, yaml.SequenceEndEvent)  # fmt: skip
    flows, runs, run_scalars, run_nested = fast[1:] if fast is not None else ([], [], [], [])
    plain_cache: dict[str, Any] = {PLACEHOLDER: _FLOW} if flows else {}
    taken, placed = 0, 0  # placeholders met, and flows placed, so far
    stack: list[tuple] = []
    items: Any = None  # the open mapping or list (None at the top level)
    is_map, key, key_line, lines, merges, anchor = False, _NO_KEY, 0, None, None, None
    anchors: dict[str, Any] = {}
    open_anchors: set[str] = set()
    max_nesting, nodes_left = limits.max_yaml_nesting, limits.max_yaml_nodes
    documents, root = 0, None
    while True:
        event = get()
        kind = type(event)
        if kind is scalar_t:
            line = None  # read from the event only where it is kept (keys and list items) or an error needs it
            nodes_left -= 1
            if nodes_left < 0:
                raise ArchcalcError(f"the document has too many values; {note(limits, 'max_yaml_nodes')}",
                                    line=event.start_mark.line + 1)  # fmt: skip
            if event.tag is None and not event.style:  # plain ('' from libyaml, None from PyYAML's parser)
                text_value = event.value
                value: Any = plain_cache.get(text_value, _MISSING)
                if value is _MISSING:
                    value = plain_cache[text_value] = _plain(text_value, event.start_mark.line + 1)
                elif value is _FLOW:
                    line = event.start_mark.line + 1
                    if taken == len(runs) or items is None or is_map or event.anchor is not None:
                        raise _Diverged
                    run = flows[placed:placed + runs[taken]]
                    nodes_left -= run_scalars[taken] - 1
                    nested = run_nested[taken]
                    taken += 1
                    placed += len(run)
                    # the line it was built for; nesting and size within the limits (else the general path says where)
                    if run[0].line != line or len(stack) + 1 + nested >= max_nesting or nodes_left < 0:
                        raise _Diverged
                    body = run[:-1]  # placed as any list item is placed below (all at once); the last one is the value
                    body_lines = [flow.line for flow in body]
                    if lines is not None:
                        lines += body_lines
                    elif body_lines.count(items.line) != len(body_lines):  # some on another line: keep every line
                        lines = [items.line] * len(items) + body_lines
                    items += body
                    value = run[-1]
                    line = value.line
            else:
                value = _scalar(event.tag, event.value, event.start_mark.line + 1)
            if event.anchor is not None:
                anchors[event.anchor] = value
        elif kind is map_t or kind is seq_t:
            line = event.start_mark.line + 1
            if event.tag is not None:
                _container_tag(event.tag, kind is map_t, line)
            if len(stack) + (items is not None) >= max_nesting:  # the depth this one would have, minus one
                raise ArchcalcError(f"mappings and lists nest too deeply; {note(limits, 'max_yaml_nesting')}",
                                    line=line)  # fmt: skip
            if items is not None:
                stack.append((items, is_map, key, key_line, lines, merges, anchor))
            items = LineDict() if kind is map_t else LineList()
            items.line = line
            is_map, key, lines, merges, anchor = kind is map_t, _NO_KEY, None, None, event.anchor
            if anchor is not None:
                anchors[anchor] = items
                open_anchors.add(anchor)
            continue
        elif kind is map_end_t or kind is seq_end_t:
            value, line = items, items.line
            if is_map:
                if lines:
                    value.key_lines = lines
                if merges:
                    _merge(value, merges)
            elif lines:
                value.item_lines = tuple(lines)
            if anchor is not None:
                open_anchors.discard(anchor)
            items, is_map, key, key_line, lines, merges, anchor = stack.pop() if stack else (None,) * 7
        elif kind is alias_t:
            line = event.start_mark.line + 1
            nodes_left -= 1
            if nodes_left < 0:
                raise ArchcalcError(f"the document has too many values; {note(limits, 'max_yaml_nodes')}", line=line)
            if event.anchor in open_anchors:
                raise ArchcalcError("an alias refers to the mapping or list that contains it", line=line)
            if event.anchor not in anchors:
                raise ArchcalcError(f"found undefined alias {brief(event.anchor)}", line=line)
            value = anchors[event.anchor]
        elif kind is yaml.DocumentStartEvent:
            documents += 1
            if documents > 1:
                raise ArchcalcError("a spec is one YAML document; found a second one (---)",
                                    line=event.start_mark.line + 1)  # fmt: skip
            continue
        elif kind is yaml.StreamEndEvent or event is None:
            if taken != len(runs):
                raise _Diverged
            return root
        else:
            continue
        # A value is complete: place it.
        if items is None:
            root = value
        elif not is_map:
            if line is None:
                line = event.start_mark.line + 1
            if lines is not None:
                lines.append(line)
            elif line != items.line:  # the first item on another line: from now on every line is kept
                lines = [items.line] * len(items) + [line]
            items.append(value)
        elif key is _NO_KEY:
            if line is None:
                line = event.start_mark.line + 1
            if isinstance(value, (dict, list)) or value is None:
                raise ArchcalcError("mapping keys must be plain scalars (text or numbers)", line=line)
            key, key_line = value, line
        elif key == MERGE and isinstance(key, str):
            sources = _merge_sources(value, key_line)
            merges = (merges or []) + sources
            nodes_left -= sum(len(source) for source in sources)  # merged entries are copies
            if nodes_left < 0:
                raise ArchcalcError("merge keys (<<) copy too many values; " + note(limits, "max_yaml_nodes"),
                                    line=key_line)  # fmt: skip
            key = _NO_KEY
        else:
            if key in items:
                raise ArchcalcError(f"duplicate key {brief(key)}", line=key_line)
            items[key] = value
            if key_line != items.line:
                if lines is None:
                    lines = {}
                lines[key] = key_line
            key = _NO_KEY


def _scalar(tag: str | None, value: str, line: int) -> Any:
    """A quoted or block scalar (text), or one with an explicit tag."""
    if tag is None or tag == "!":
        return value
    _refuse_tag(tag, line)
    if tag in (CORE + "seq", CORE + "map"):
        raise ArchcalcError(f"a scalar cannot be tagged {tag.replace(CORE, '!!')}", line=line)
    return _tagged(tag, value, line)


def _container_tag(tag: str, is_map: bool, line: int) -> None:
    _refuse_tag(tag, line)
    if tag != "!" and tag != CORE + ("map" if is_map else "seq"):
        raise ArchcalcError(f"a {'mapping' if is_map else 'list'} cannot be tagged {tag.replace(CORE, '!!')}",
                            line=line)  # fmt: skip


def _merge_sources(value: Any, line: int) -> list[LineDict]:
    sources = value if isinstance(value, list) else [value]
    if not sources or not all(isinstance(item, LineDict) for item in sources):
        raise ArchcalcError("a merge key (<<) takes a mapping or a list of mappings", line=line)
    return list(sources)


def _merge(mapping: LineDict, sources: list[LineDict]) -> None:
    """Apply merge keys: merged keys come first; keys written in the mapping win, then earlier sources."""
    key_lines = dict(mapping.key_lines)
    merged: dict[Any, tuple[Any, int]] = {}
    for source in reversed(sources):  # later sources first, so earlier ones overwrite them
        for key, item in source.items():
            merged[key] = (item, source.line_of(key) or 0)
    own = dict(mapping)
    mapping.clear()
    for key, (item, line) in merged.items():
        if key not in own:
            mapping[key] = item
            if line != mapping.line:
                key_lines[key] = line
    mapping.update(own)
    if key_lines:
        mapping.key_lines = key_lines
