"""One way in: a spec (a file or a built-in name) or a PyTorch model, with `--set` overrides, an input
shape and limits, becomes a Graph. Every command loads its graphs through `GraphSource.load()`.

    from archcalc.graph_source import GraphSource
    graph = GraphSource(spec="resnet50", overrides={"width": 2}).load().graph
    graph = GraphSource.from_options("vgg16", input_text="3x64x64").load().graph          # CLI texts
    graph = GraphSource(module="model.py:build", input_shape=(3, 224, 224)).load().graph  # runs that code

`from_options` reads the texts a user types (`--input 3x224x224`, `--set name=value`, `--input-dtype int64`
for token ids) with the same
checks wherever they are given, and its errors name the option, not a spec file: the input shape is
the user's, not the spec's. `--module` imports torch and runs the user's code, so it is touched only
when given.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Mapping

from archcalc.errors import ArchcalcError, brief
from archcalc.graph import Graph
from archcalc.limits import DEFAULT_LIMITS, MAX_INPUT_RANK, Limits
# Below the loaders (spec/expand.py checks --input too): re-exported here for the command line.
from archcalc.spec.values import INPUT_USAGE, check_input_shape

if TYPE_CHECKING:
    from archcalc.spec import SpecDocument

_SIZE = re.compile(r"[0-9]{1,19}")  # ASCII digits only (int() also takes '３' and '1_000'), below 10**19


@dataclass
class LoadedGraph:
    graph: Graph
    labels: dict[str, str] = field(default_factory=dict)  # module path -> class name (imported models)
    notes: list[str] = field(default_factory=list)  # what the importer wants the user to know


@dataclass(frozen=True)
class GraphSource:
    """Where a graph comes from: exactly one of `spec` and `module`, plus what changes it."""

    spec: str | os.PathLike | None = None
    module: str | None = None
    overrides: Mapping[str, Any] = field(default_factory=dict)
    input_shape: tuple[int, ...] | None = None
    limits: Limits = DEFAULT_LIMITS
    input_dtype: str | None = None  # --input-dtype: "int64" for token ids; None: the spec's (a model: float32)

    def __post_init__(self) -> None:
        if self.spec is not None and self.module is not None:
            raise ArchcalcError("give a SPEC or --module, not both")
        if self.spec is None and self.module is None:
            raise ArchcalcError("give a SPEC (a spec file or built-in name) or --module FILE.py:CALLABLE")
        if self.module is not None and self.overrides:
            raise ArchcalcError("--set replaces spec variables; a --module model has none")
        if self.module is not None and self.input_shape is None:
            raise ArchcalcError("--module needs --input, the model's input shape without the batch (e.g. 3x224x224)")
        if self.input_shape is not None:
            check_input_shape(self.input_shape, self.limits)
        check_input_dtype(self.input_dtype)

    @classmethod
    def from_options(cls, spec: str | None = None, module: str | None = None, input_text: str | None = None,
                     set_pairs: list[str] | None = None, limits: Limits = DEFAULT_LIMITS) -> "GraphSource":  # fmt: skip
        """A source from what a user typed: `--input 3x224x224`, `--set name=value` (repeatable)."""
        if spec is not None and module is not None:
            raise ArchcalcError("give a SPEC or --module, not both")
        return SourceOptions.from_options(module, input_text, set_pairs, limits).source(spec)

    def with_overrides(self, overrides: Mapping[str, Any]) -> "GraphSource":
        """The same source with these variables set too (they win over ones already set)."""
        return replace(self, overrides={**self.overrides, **overrides})

    @property
    def label(self) -> str:
        return str(self.spec if self.spec is not None else self.module)

    def variables(self) -> list[str]:
        """The names of the spec's variables (none for a model), without expanding it."""
        if self.spec is None:
            return []
        data = self.document().data
        declared = data.get("variables") if isinstance(data, dict) else None
        return [name for name in declared if isinstance(name, str)] if isinstance(declared, dict) else []

    def document(self) -> "SpecDocument":
        """The spec file, read and parsed (not for a model)."""
        from archcalc.spec import read_spec_document

        if self.spec is None:
            raise ArchcalcError("a --module model has no spec document")
        return read_spec_document(self.spec, self.limits)

    def build(self, document: "SpecDocument") -> Graph:
        """This source's graph from its spec document, read before (expanding it again is cheap)."""
        return document.graph(self.overrides, self.limits, self.input_shape, self.input_dtype)

    def load(self) -> LoadedGraph:
        if self.spec is not None:
            from archcalc.hints import input_hint

            # A note before any error the shape causes: the layer that refuses it says what is wrong,
            # the note what was most likely meant.
            hint = input_hint(self.input_shape)
            return LoadedGraph(self.build(self.document()), notes=[hint] if hint else [])
        from archcalc.importer import import_model
        from archcalc.importer.loading import load_callable, output_to_stderr

        assert self.module is not None and self.input_shape is not None
        with output_to_stderr():  # the model's prints must not corrupt a report on stdout
            factory, label = load_callable(self.module)
            result = import_model(factory, self.input_shape, source=label, input_dtype=self.input_dtype or "float32")
        if result.graph.limits != self.limits:
            result.graph.limits = self.limits
        from archcalc.hints import input_hint

        hint = input_hint(self.input_shape)
        return LoadedGraph(result.graph, result.labels, list(result.notes) + ([hint] if hint else []))


@dataclass(frozen=True)
class SourceOptions:
    """What every command that reads graphs takes besides the spec: `--module`, `--input`, `--set` and the
    limits, read once (`from_options`) and applied to each spec a command names (`source`)."""

    module: str | None = None
    input_shape: tuple[int, ...] | None = None
    overrides: Mapping[str, Any] = field(default_factory=dict)
    limits: Limits = DEFAULT_LIMITS
    input_dtype: str | None = None

    @classmethod
    def from_options(cls, module: str | None = None, input_text: str | None = None,
                     set_pairs: list[str] | None = None, limits: Limits = DEFAULT_LIMITS,
                     dtype_text: str | None = None) -> "SourceOptions":  # fmt: skip
        from archcalc.spec import parse_overrides

        return cls(module, parse_input_shape(input_text, limits), parse_overrides(set_pairs, limits), limits,
                   check_input_dtype(dtype_text))

    def source(self, spec: str | os.PathLike | None, overrides: Mapping[str, Any] | None = None) -> GraphSource:
        """The source for `spec` (or the module when `spec` is None); `overrides` replace the options' ones."""
        chosen = self.overrides if overrides is None else overrides
        return GraphSource(spec, None if spec is not None else self.module, chosen, self.input_shape, self.limits,
                           self.input_dtype)


def check_input_dtype(text: str | None) -> str | None:
    """--input-dtype: float32 (numbers) or int64 (token ids, for text models)."""
    from archcalc.graph import INPUT_DTYPES

    if text is not None and text not in INPUT_DTYPES:
        raise ArchcalcError(f"--input-dtype takes {' or '.join(INPUT_DTYPES)} (int64: token ids), got {brief(text)}")
    return text


def parse_input_shape(text: str | None, limits: Limits = DEFAULT_LIMITS) -> tuple[int, ...] | None:
    """'3x224x224' -> (3, 224, 224); '784' -> (784,); any rank up to MAX_INPUT_RANK (the layers say
    which ranks they take)."""
    if text is None:
        return None
    parts = text.strip().lower().replace("×", "x").split("x")
    if len(parts) > MAX_INPUT_RANK:
        raise ArchcalcError(f"--input has {len(parts)} sizes; at most {MAX_INPUT_RANK} are allowed, got {brief(text)}")
    if not all(_SIZE.fullmatch(part.strip()) for part in parts):
        raise ArchcalcError(f"{INPUT_USAGE}, got {brief(text)}")
    shape = tuple(int(part) for part in parts)
    check_input_shape(shape, limits, text)
    return shape


__all__ = ["GraphSource", "LoadedGraph", "SourceOptions", "check_input_dtype", "check_input_shape", "parse_input_shape"]
