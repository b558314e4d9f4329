"""Loading specs: a path or a built-in name -> Graph."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

from archcalc.errors import ArchcalcError, closest
from archcalc.graph import Graph
from archcalc.spec.expand import build_graph
from archcalc.spec.source import DEFAULT_LIMITS, Limits, load_document, parse_text

SPEC_SUFFIXES = (".yaml", ".yml", ".json")


def specs_dir() -> Path:
    """Where the built-in specs live: $ARCHCALC_SPECS, else archcalc/specs in an installed wheel, else the
    repository's top-level specs/ folder (a checkout or an editable install)."""
    override = os.environ.get("ARCHCALC_SPECS")
    if override:
        return Path(override)
    package = Path(__file__).resolve().parents[1]
    installed = package / "specs"
    return installed if installed.is_dir() else package.parent / "specs"


def builtin_specs() -> dict[str, Path]:
    """Built-in spec names -> files: `vgg16`, and `examples/stem_7x7` for files in sub-folders."""
    root = specs_dir()
    found: dict[str, Path] = {}
    if root.is_dir():
        for path in sorted(root.rglob("*")):
            if path.suffix in SPEC_SUFFIXES and path.is_file():
                found[path.relative_to(root).with_suffix("").as_posix()] = path
    return found


def resolve_spec(spec: str) -> Path:
    """A path to an existing file, or the file of a built-in spec name."""
    path = Path(spec)
    try:
        if path.exists():
            return path
    except (OSError, ValueError):  # a name too long for the system, a NUL byte: reading says why
        return path
    builtins = builtin_specs()
    if spec in builtins:
        return builtins[spec]
    if path.suffix in SPEC_SUFFIXES or "/" in spec or os.sep in spec:
        return path  # reading it reports "no such file" with the path
    raise ArchcalcError(
        f"no spec file or built-in spec named {spec!r}{closest(spec, list(builtins))} "
        "(`archcalc zoo` lists the built-in specs)"
    )


def split_assignment(pair: str, usage: str = "name=value") -> tuple[str, str]:
    """'name=value' -> ('name', 'value'); a one-line error naming `usage` otherwise."""
    name, sep, value = pair.partition("=")
    name = name.strip()
    if not sep or not name.isidentifier():
        raise ArchcalcError(f"--set takes {usage}, got {pair!r}")
    return name, value


def parse_overrides(pairs: list[str] | None) -> dict[str, Any]:
    """`--set name=value` pairs; values are YAML scalars or lists (0.5, 32, true, [6, 12])."""
    from archcalc.spec.source import parse_text as _parse

    out: dict[str, Any] = {}
    for pair in pairs or []:
        name, value = split_assignment(pair)
        if name in out:
            raise ArchcalcError(f"--set {name} is given twice")
        try:
            out[name] = _parse(value, None) if value.strip() else None
        except ArchcalcError as exc:
            raise ArchcalcError(f"--set {name}: cannot read value {value!r}: {exc.message}") from None
        if out[name] is None or isinstance(out[name], dict):
            raise ArchcalcError(f"--set {name}: give a number, boolean, string or list, got {value!r}")
    return out


def load_spec(
    spec: str | os.PathLike,
    overrides: Mapping[str, Any] | None = None,
    limits: Limits = DEFAULT_LIMITS,
    input_shape: tuple[int, ...] | None = None,
    input_dtype: str | None = None,
) -> Graph:
    """Load a spec by path or built-in name and expand it into a Graph.

    `overrides` replace variables (`--set`); `input_shape` replaces the spec's input (`--input`) and
    `input_dtype` its input_dtype (`--input-dtype`: float32, or int64 for token ids).
    """
    path = resolve_spec(str(spec))
    doc = load_document(path, limits)
    return build_graph(doc, str(path), path.stem, overrides, limits, input_shape, input_dtype)


def load_spec_text(text: str, name: str = "spec", overrides: Mapping[str, Any] | None = None,
                   limits: Limits = DEFAULT_LIMITS, input_shape: tuple[int, ...] | None = None,
                   input_dtype: str | None = None) -> Graph:  # fmt: skip
    """Load a spec from a string (handy in tests and notebooks)."""
    return build_graph(parse_text(text, f"<{name}>", limits), f"<{name}>", name, overrides, limits, input_shape,
                       input_dtype)


__all__ = ["Limits", "builtin_specs", "load_spec", "load_spec_text", "parse_overrides", "resolve_spec", "specs_dir"]
