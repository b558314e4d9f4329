"""Loading specs: a path or a built-in name -> Graph."""

from __future__ import annotations

import keyword
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from archcalc.errors import ArchcalcError, brief, closest
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


def _fold(name: str) -> str:
    return name.lower().replace("-", "").replace("_", "")


def resolve_spec(spec: str) -> Path:
    """A path to an existing file, or the file of a built-in spec name."""
    path = Path(spec)
    try:
        exists, is_dir = path.exists(), path.is_dir()
    except (OSError, ValueError):  # a name too long for the system, a NUL byte: reading says why
        return path
    if exists and not is_dir:
        return path
    builtins = builtin_specs()
    if spec in builtins:  # a folder of that name in the current directory does not hide a built-in spec
        return builtins[spec]
    if exists:
        return path  # reading it says it is a directory
    folded = [name for name in builtins if _fold(name) == _fold(spec)]
    if len(folded) == 1:  # `VGG16`, `ResNet-50`: the built-in spec, as people write its name
        return builtins[folded[0]]
    if path.suffix in SPEC_SUFFIXES or "/" in spec or os.sep in spec:
        return path  # reading it reports "no such file" with the path
    raise ArchcalcError(
        f"no spec file or built-in spec named {brief(spec)}{closest(spec, list(builtins))} "
        "(`archcalc zoo` lists the built-in specs)"
    )


def split_assignment(pair: str, usage: str = "name=value") -> tuple[str, str]:
    """'name=value' -> ('name', 'value'); a one-line error naming `usage` otherwise."""
    name, sep, value = pair.partition("=")
    name = name.strip()
    if not sep or not name.isidentifier():
        raise ArchcalcError(f"--set takes {usage}, got {brief(pair)}")
    if keyword.iskeyword(name):
        raise ArchcalcError(f"--set {name}: {name!r} is a keyword, not a variable name")
    return name, value


def parse_overrides(pairs: list[str] | None, limits: Limits = DEFAULT_LIMITS) -> dict[str, Any]:
    """`--set name=value` pairs; values are YAML scalars or lists (0.5, 32, true, [6, 12]).

    A value passes the checks the same value gets in a spec (finite numbers below 2**63, list size and
    nesting, no dates or other types a spec cannot hold); a string stays a string (it is not evaluated).
    """
    from archcalc.spec.source import parse_text as _parse
    from archcalc.spec.values import check_plain_value

    out: dict[str, Any] = {}
    for pair in pairs or []:
        name, value = split_assignment(pair)
        if name in out:
            raise ArchcalcError(f"--set {name} is given twice")
        try:
            parsed = _parse(value, None, limits) if value.strip() else None
            if parsed is None or isinstance(parsed, dict):
                raise ArchcalcError(f"give a number, boolean, string or list, got {brief(value)}")
            out[name] = check_plain_value(parsed, limits)
        except ArchcalcError as exc:
            raise ArchcalcError(f"--set {name}: {exc.message}") from None
    return out


@dataclass
class SpecDocument:
    """A spec file read and parsed, not yet expanded: expand it as often as needed (a sweep does)."""

    path: Path
    data: Any

    def graph(self, overrides: Mapping[str, Any] | None = None, limits: Limits = DEFAULT_LIMITS,
              input_shape: tuple[int, ...] | None = None, input_dtype: str | None = None) -> Graph:  # fmt: skip
        """`input_dtype` replaces the spec's (`--input-dtype`: float32, or int64 for token ids)."""
        return build_graph(self.data, str(self.path), self.path.stem, overrides, limits, input_shape, input_dtype)


def read_spec_document(spec: str | os.PathLike, limits: Limits = DEFAULT_LIMITS) -> SpecDocument:
    """The parsed document of a spec file or built-in name."""
    path = resolve_spec(str(spec))
    return SpecDocument(path, load_document(path, limits))


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
    return read_spec_document(spec, limits).graph(overrides, limits, input_shape, input_dtype)


def load_spec_text(text: str, name: str = "spec", overrides: Mapping[str, Any] | None = None,
                   limits: Limits = DEFAULT_LIMITS, input_shape: tuple[int, ...] | None = None,
                   input_dtype: str | None = None) -> Graph:  # fmt: skip
    """Load a spec from a string (handy in tests and notebooks)."""
    return build_graph(parse_text(text, f"<{name}>", limits), f"<{name}>", name, overrides, limits, input_shape,
                       input_dtype)


__all__ = ["Limits", "builtin_specs", "load_spec", "load_spec_text", "parse_overrides", "read_spec_document", "resolve_spec",
           "specs_dir"]
