"""Reading a spec file: size limits, a safe YAML loader that remembers line numbers, JSON too.

Mappings load as `LineDict`: a dict that knows the line it starts on and the line of each key, so
every later error can point at the exact line. YAML is loaded with the safe loader (no Python object
tags; `_Loader` only replaces how mappings are built); duplicate keys are an error rather than a
silent overwrite.

Hostile files are stopped before they cost anything (see docs/errors.md):
- the file must be a regular file within `max_file_bytes` (a FIFO or /dev/zero would never end);
- the event stream is scanned first, iteratively, for nesting depth and node count: libyaml's
  composer recurses in C and crashes the interpreter on a few hundred thousand nested `- `;
- aliases are shared, never copied, so a "billion laughs" document loads as a few small objects
  (what walks them later is bounded by the limits); merge keys (`<<`) do copy, so copies count
  toward `max_yaml_nodes`.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Any

import yaml

from archcalc.errors import ArchcalcError
from archcalc.limits import DEFAULT_LIMITS, Limits, note, recursion_room

__all__ = ["DEFAULT_LIMITS", "LineDict", "LineList", "Limits", "line_at", "load_document", "parse_text", "read_text"]


class LineDict(dict):
    """A dict from YAML that remembers where it came from."""

    line: int | None = None
    key_lines: dict

    def line_of(self, key: str) -> int | None:
        return getattr(self, "key_lines", {}).get(key, self.line)


class LineList(list):
    """A list from YAML that remembers the line of each item."""

    line: int | None = None
    item_lines: tuple[int, ...] = ()

    def line_of(self, index: int) -> int | None:
        return self.item_lines[index] if 0 <= index < len(self.item_lines) else self.line


def line_at(item: Any, key: str | int | None = None) -> int | None:
    """The line of `item` (key None) or of one of its keys or indexes; None for values not read from a file."""
    if isinstance(item, (LineDict, LineList)):
        return item.line if key is None else item.line_of(key)  # type: ignore[arg-type]
    return None


_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MERGE_TAG = "tag:yaml.org,2002:merge"


class _Loader(_BaseLoader):  # type: ignore[misc, valid-type]
    """The safe loader, with LineDict mappings, duplicate-key errors and a budget for merge copies."""

    limits = DEFAULT_LIMITS
    merge_budget = DEFAULT_LIMITS.max_yaml_nodes


def _line_of(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _merged(loader: _Loader, key_node: yaml.Node, value_node: yaml.Node) -> list[tuple[Any, Any, int]]:
    """Entries a merge key (`<<: *base` or `<<: [*a, *b]`) brings in; earlier mappings win."""
    sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
    entries: list[tuple[Any, Any, int]] = []
    for source in reversed(sources):  # later sources first, so earlier ones overwrite them
        mapping = loader.construct_object(source, deep=True) if isinstance(source, yaml.MappingNode) else None
        if not isinstance(mapping, LineDict):
            raise ArchcalcError("a merge key (<<) takes a mapping or a list of mappings", line=_line_of(key_node))
        loader.merge_budget -= len(mapping)
        if loader.merge_budget < 0:
            raise ArchcalcError("merge keys (<<) copy too many values; " + note(loader.limits, "max_yaml_nodes"),
                                line=_line_of(key_node))  # fmt: skip
        entries.extend((key, value, mapping.line_of(key) or _line_of(source)) for key, value in mapping.items())
    return entries


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    written: list[tuple[Any, Any, int]] = []
    merged: list[tuple[Any, Any, int]] = []
    for key_node, value_node in node.value:
        if key_node.tag == _MERGE_TAG:
            merged.extend(_merged(loader, key_node, value_node))
            continue
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, (str, int, float, bool)):
            raise ArchcalcError("mapping keys must be plain scalars", line=_line_of(key_node))
        written.append((key, loader.construct_object(value_node, deep=True), _line_of(key_node)))
    out = LineDict()
    out.line = _line_of(node)
    out.key_lines = {}
    own = set()
    for key, value, line in written:
        if key in own:
            raise ArchcalcError(f"duplicate key {key!r}", line=line)
        own.add(key)
    # Merged keys come first (variables are evaluated in order); keys written in the mapping win.
    for key, value, line in merged:
        if key not in own:
            out[key] = value
            out.key_lines[key] = line
    for key, value, line in written:
        out[key] = value
        out.key_lines[key] = line
    return out


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> LineList:
    # Built in one step (PyYAML's default is a generator), so an alias inside its own list is an error.
    out = LineList(loader.construct_object(child, deep=True) for child in node.value)
    out.line = _line_of(node)
    out.item_lines = tuple(_line_of(child) for child in node.value)
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)

_UNKNOWN_TAG = re.compile(r"constructor for the tag '([^']*)'")


def _construct_int(loader: _Loader, node: yaml.ScalarNode) -> int:
    try:
        return yaml.constructor.SafeConstructor.construct_yaml_int(loader, node)
    except ValueError:  # Python refuses to convert integers of more than 4300 digits
        raise ArchcalcError(f"an integer of {len(node.value):,} digits is too long", line=_line_of(node)) from None


_Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)


def _scan(text: str, file: str | None, limits: Limits) -> int:
    """Walk the YAML event stream (iteratively, in C) to refuse deep nesting and huge documents.

    Returns the deepest nesting found.
    """
    depth = deepest = nodes = 0
    for event in yaml.parse(text, Loader=_BaseLoader):
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > limits.max_yaml_nesting:
                raise ArchcalcError(f"mappings and lists nest too deeply; {note(limits, 'max_yaml_nesting')}",
                                    file=file, line=event.start_mark.line + 1)  # fmt: skip
            deepest = max(deepest, depth)
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1
            continue
        elif not isinstance(event, (yaml.ScalarEvent, yaml.AliasEvent)):
            continue
        nodes += 1
        if nodes > limits.max_yaml_nodes:
            raise ArchcalcError(f"the document has too many values; {note(limits, 'max_yaml_nodes')}",
                                file=file, line=event.start_mark.line + 1)  # fmt: skip
    return deepest


def _nth_line(text: str, index: int) -> str:
    start = 0
    for _ in range(index):
        start = text.find("\n", start) + 1
        if start == 0:
            return ""
    end = text.find("\n", start)
    return text[start : end if end >= 0 else len(text)]


def _yaml_problem(exc: yaml.MarkedYAMLError, text: str) -> str:
    if isinstance(exc, yaml.constructor.ConstructorError):
        match = _UNKNOWN_TAG.search(str(exc.problem))
        if match:
            tag = match.group(1).replace("tag:yaml.org,2002:", "!!")
            return f"YAML tag {tag} is not allowed (specs hold plain data only)"
        if "recursive" in str(exc.problem):
            return "an alias refers to the mapping or list that contains it"
    problem = exc.problem or "invalid YAML"
    mark = exc.problem_mark
    if mark is not None and "\t" in _nth_line(text, mark.line)[: mark.column + 1]:
        problem += " (YAML does not indent with tabs)"
    return f"{exc.context}, {problem}" if exc.context else problem


def parse_text(text: str, file: str | None, limits: Limits = DEFAULT_LIMITS) -> Any:
    """YAML (and so JSON, a subset of it) to plain data with LineDicts."""
    try:
        deepest = _scan(text, file, limits)
        loader = _Loader(text)
        loader.limits = limits
        loader.merge_budget = limits.max_yaml_nodes
        try:
            with recursion_room(deepest):  # the constructor recurses once per level
                return loader.get_single_data()
        finally:
            loader.dispose()
    except ArchcalcError as exc:
        raise exc.located(file=file)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if "nesting depth" in str(exc.problem):  # libyaml (>= 0.2.5 in PyYAML 6.0.4) stops deep nesting itself
            raise ArchcalcError(f"mappings and lists nest too deeply; {note(limits, 'max_yaml_nesting')}",
                                file=file, line=mark.line + 1 if mark else None) from None  # fmt: skip
        raise ArchcalcError(_yaml_problem(exc, text), file=file, line=mark.line + 1 if mark else None) from None
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count("\n") + 1 if isinstance(exc.position, int) else None
        character = f"#x{exc.character:04x}" if isinstance(exc.character, int) else repr(exc.character)
        raise ArchcalcError(f"character {character} is not allowed in YAML ({exc.reason})", file=file,
                            line=line) from None  # fmt: skip
    except yaml.YAMLError as exc:
        raise ArchcalcError(f"invalid YAML: {exc}", file=file) from None
    except RecursionError:
        raise ArchcalcError("the document nests too deeply for the YAML loader", file=file) from None


def read_text(path: Path, limits: Limits = DEFAULT_LIMITS) -> str:
    """The file's text, if it is a regular, readable UTF-8 file within `max_file_bytes`."""
    name = str(path)
    try:
        info = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        raise ArchcalcError("no such file", file=name) from None
    except (OSError, ValueError) as exc:
        raise ArchcalcError(f"cannot read: {getattr(exc, 'strerror', None) or exc}", file=name) from None
    if stat.S_ISDIR(info.st_mode):
        raise ArchcalcError("is a directory, not a spec file", file=name)
    if not stat.S_ISREG(info.st_mode):
        raise ArchcalcError("is not a regular file (a device, pipe or socket?)", file=name)
    too_big = f"the file is larger than {limits.max_file_bytes:,} bytes; {note(limits, 'max_file_bytes')}"
    if info.st_size > limits.max_file_bytes:
        raise ArchcalcError(too_big.replace("larger than", f"{info.st_size:,} bytes, larger than", 1), file=name)
    try:
        with open(path, "rb") as handle:
            data = handle.read(limits.max_file_bytes + 1)  # the file may have grown since stat()
    except OSError as exc:
        raise ArchcalcError(f"cannot read: {exc.strerror or exc}", file=name) from None
    if len(data) > limits.max_file_bytes:
        raise ArchcalcError(too_big, file=name)
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise ArchcalcError("the file is UTF-16; save it as UTF-8", file=name)
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise ArchcalcError("binary data (a NUL byte), not a YAML or JSON spec", file=name, line=line)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ArchcalcError(f"not valid UTF-8 (byte {exc.start:,})", file=name, line=line) from None


def load_document(path: str | os.PathLike, limits: Limits = DEFAULT_LIMITS) -> Any:
    path = Path(path)
    return parse_text(read_text(path, limits), str(path), limits)
