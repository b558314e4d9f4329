"""Reading a spec file: size limits, a safe YAML loader that remembers line numbers, JSON too.

Mappings load as `LineDict`: a dict that knows the line it starts on and the line of each key, so
every later error can point at the exact line. YAML is loaded with the safe loader (no Python object
tags); duplicate keys are an error rather than a silent overwrite.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from archcalc.errors import ArchcalcError


@dataclass(frozen=True)
class Limits:
    """Bounds that stop runaway inputs. Each can be raised from the CLI (see README, "Limits")."""

    max_file_bytes: int = 16 * 2**20
    max_layers: int = 1_000_000
    max_depth: int = 64
    max_yaml_nesting: int = 200
    max_yaml_nodes: int = 5_000_000


DEFAULT_LIMITS = Limits()


class LineDict(dict):
    """A dict from YAML that remembers where it came from."""

    line: int | None = None
    key_lines: dict

    def line_of(self, key: str) -> int | None:
        return getattr(self, "key_lines", {}).get(key, self.line)


_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):  # type: ignore[misc, valid-type]
    """The safe loader, with LineDict mappings and duplicate-key errors."""


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)  # resolves YAML merge keys (<<)
    out = LineDict()
    out.line = node.start_mark.line + 1
    out.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, (str, int, float, bool)) or key is None:
            raise ArchcalcError("mapping keys must be plain scalars", line=key_node.start_mark.line + 1)
        if key in out:
            raise ArchcalcError(f"duplicate key {key!r}", line=key_node.start_mark.line + 1)
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[key] = key_node.start_mark.line + 1
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)

_BRACKETS = re.compile(r"[\[\]{}]")


def _check_flow_nesting(text: str, limits: Limits) -> None:
    """Refuse absurdly nested flow collections before the parser recurses into them."""
    depth = deepest = 0
    for bracket in _BRACKETS.findall(text):
        depth = depth + 1 if bracket in "[{" else max(depth - 1, 0)
        if depth > deepest:
            deepest = depth
            if deepest > limits.max_yaml_nesting:
                raise ArchcalcError(
                    f"brackets nest deeper than {limits.max_yaml_nesting} levels (--max-yaml-nesting raises it)"
                )


def read_text(path: Path, limits: Limits = DEFAULT_LIMITS) -> str:
    name = str(path)
    if path.is_dir():
        raise ArchcalcError("is a directory, not a spec file", file=name)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise ArchcalcError("no such file", file=name) from None
    except OSError as exc:
        raise ArchcalcError(f"cannot read: {exc.strerror}", file=name) from None
    if size > limits.max_file_bytes:
        raise ArchcalcError(
            f"file is {size:,} bytes, the limit is {limits.max_file_bytes:,} (--max-file-bytes raises it)",
            file=name,
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ArchcalcError(f"cannot read: {exc.strerror or exc}", file=name) from None
    if b"\x00" in data:
        raise ArchcalcError("binary data, not a YAML or JSON spec", file=name)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ArchcalcError(f"not valid UTF-8 (byte {exc.start})", file=name, line=line) from None


def parse_text(text: str, file: str | None, limits: Limits = DEFAULT_LIMITS) -> Any:
    """YAML (and so JSON, a subset of it) to plain data with LineDicts."""
    _check_flow_nesting(text, limits)
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader subclass
    except ArchcalcError as exc:
        raise exc.located(file=file)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        if isinstance(exc, yaml.constructor.ConstructorError) and "could not determine a constructor" in str(exc):
            problem = f"YAML tag not allowed: {exc.problem.split('tag')[-1].strip() if exc.problem else ''}"
            problem = problem.replace("'", "")
        raise ArchcalcError(problem, file=file, line=mark.line + 1 if mark else None) from None
    except yaml.YAMLError as exc:
        raise ArchcalcError(f"invalid YAML: {exc}", file=file) from None
    except RecursionError:
        raise ArchcalcError("the document nests too deeply", file=file) from None


def load_document(path: str | os.PathLike, limits: Limits = DEFAULT_LIMITS) -> Any:
    path = Path(path)
    return parse_text(read_text(path, limits), str(path), limits)
