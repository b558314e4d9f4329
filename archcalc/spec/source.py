"""Reading a spec file: size limits, then a parser that remembers line numbers (YAML or JSON).

Mappings load as `LineDict` and lists as `LineList` (spec/lines.py): each knows the line it starts on
and the lines of its keys or items, so every later error can point at the exact line.

- YAML goes through spec/yaml_build.py: one iterative pass over libyaml's events that resolves
  scalars by YAML 1.2's core schema, shares anchors, applies merge keys, refuses tags that build
  objects, duplicate keys, deep nesting (`max_yaml_nesting`) and huge documents (`max_yaml_nodes`).
- JSON (a `.json` file) goes through spec/json_build.py: Python's JSON parser, then one scan for the
  lines; the same limits apply.

Hostile files are stopped before they cost anything (see docs/errors.md): the file must be a regular
file within `max_file_bytes` (a FIFO or /dev/zero would never end), UTF-8 text without NUL bytes.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import yaml

from archcalc.errors import ArchcalcError
from archcalc.limits import DEFAULT_LIMITS, Limits, note
from archcalc.spec import json_build, yaml_build
from archcalc.spec.lines import LineDict, LineList, line_at

__all__ = ["DEFAULT_LIMITS", "LineDict", "LineList", "Limits", "line_at", "load_document", "parse_text", "read_text"]


def _nth_line(text: str, index: int) -> str:
    start = 0
    for _ in range(index):
        start = text.find("\n", start) + 1
        if start == 0:
            return ""
    end = text.find("\n", start)
    return text[start : end if end >= 0 else len(text)]


def _yaml_problem(exc: yaml.MarkedYAMLError, text: str) -> str:
    problem = exc.problem or "invalid YAML"
    mark = exc.problem_mark
    if mark is not None and "\t" in _nth_line(text, mark.line)[: mark.column + 1]:
        problem += " (YAML does not indent with tabs)"
    return f"{exc.context}, {problem}" if exc.context else problem


def parse_text(text: str, file: str | None, limits: Limits = DEFAULT_LIMITS, json_text: bool = False) -> Any:
    """YAML (or JSON, with `json_text`) to plain data with LineDicts and LineLists."""
    try:
        return json_build.build(text, limits) if json_text else yaml_build.build(text, limits)
    except ArchcalcError as exc:
        raise exc.located(file=file) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        if "nesting depth" in str(exc.problem):  # libyaml (>= 0.2.5 in PyYAML 6.0.4) stops deep nesting itself
            raise ArchcalcError(f"mappings and lists nest too deeply; {note(limits, 'max_yaml_nesting')}",
                                file=file, line=line) from None  # fmt: skip
        raise ArchcalcError(_yaml_problem(exc, text), file=file, line=line) from None
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count("\n") + 1 if isinstance(exc.position, int) else None
        character = f"#x{exc.character:04x}" if isinstance(exc.character, int) else repr(exc.character)
        raise ArchcalcError(f"character {character} is not allowed in YAML ({exc.reason})", file=file,
                            line=line) from None  # fmt: skip
    except yaml.YAMLError as exc:
        raise ArchcalcError(f"invalid YAML: {exc}", file=file) from None


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
    if data[:4] in (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff"):  # before UTF-16: FF FE starts both
        raise ArchcalcError("the file is UTF-32; save it as UTF-8", file=name)
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
    return parse_text(read_text(path, limits), str(path), limits, json_text=path.suffix.lower() == ".json")
