"""The options of every command that reads a graph, declared once: SPEC, `--module`, `--input`,
`--input-dtype`, `--set` and the limit flags (`--max-layers`, ...). A command takes them with one decorator line:

    @app.command()
    @handle_errors
    @source_options()
    def report(source: GraphSource, format: str = ...) -> None:
        graph = source.load().graph

Kinds: `one` hands the command `source` (a GraphSource: the spec, or the model with --module);
`many` (compare) hands it `specs` (the SPEC arguments) and `options` (a SourceOptions for each of
them); `grid` (sweep) hands it `source` without overrides and `sweep_sets`, the `--set` texts, whose
values are lists there. The options are parsed by the library (archcalc/graph_source.py), so their
errors read the same on every command and name the option.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from typing import Any, Callable, List, Optional

import typer

from archcalc.cli.completion import complete_spec
from archcalc.limits import DEFAULT_LIMITS, LIMIT_HELP, Limits, flag

SPEC_HELP = "A spec file (YAML or JSON) or a built-in name (see `archcalc zoo`); or use --module."
SPECS_HELP = "Specs to compare (files or built-in names); give variables per spec as spec:name=value."
MODULE_HELP = ("A PyTorch model instead of a spec: FILE.py:CALLABLE or package.module:CALLABLE, a function "
               "returning an nn.Module or an nn.Module class needing no arguments. This runs that code.")  # fmt: skip
INPUT_HELP = ("The input shape without the batch, sizes joined by x: 3x224x224, 16x100, 784 (replaces the "
              "spec's; needed with --module).")  # fmt: skip
INPUT_DTYPE_HELP = "What the input holds: float32 (numbers) or int64 (token ids, for text models; replaces the spec's)."
SET_HELP = "Set a spec variable: name=value (repeatable); the value is a number, boolean, text or [list]."
GRID_HELP = "Sweep a spec variable: name=value1,value2,... (repeatable: every combination is analysed)."
OPTIONS = ("spec", "specs", "module", "input", "input_dtype", "set_")


def _parameters(kind: str) -> list[inspect.Parameter]:
    def option(name: str, annotation: Any, default: Any) -> inspect.Parameter:
        return inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=annotation, default=default)

    if kind == "many":
        spec = inspect.Parameter("specs", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Optional[List[str]],
                                 default=typer.Argument(None, help=SPECS_HELP, show_default=False,
                                                      autocompletion=complete_spec))  # fmt: skip
    else:
        spec = inspect.Parameter("spec", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Optional[str],
                                 default=typer.Argument(None, help=SPEC_HELP, show_default=False,
                                                      autocompletion=complete_spec))  # fmt: skip
    return [spec,
            option("module", Optional[str], typer.Option(None, "--module", "-m", help=MODULE_HELP)),
            option("input", Optional[str], typer.Option(None, "--input", help=INPUT_HELP)),
            option("input_dtype", Optional[str], typer.Option(None, "--input-dtype", help=INPUT_DTYPE_HELP)),
            option("set_", Optional[List[str]], typer.Option(None, "--set", help=GRID_HELP if kind == "grid"
                                                                 else SET_HELP))]  # fmt: skip


def _limit_parameters() -> list[inspect.Parameter]:
    return [inspect.Parameter(item.name, inspect.Parameter.KEYWORD_ONLY, annotation=int,
                              default=typer.Option(getattr(DEFAULT_LIMITS, item.name), flag(item.name),
                                                   help=LIMIT_HELP[item.name], rich_help_panel="Limits"))
            for item in dataclasses.fields(Limits)]  # fmt: skip


def source_options(kind: str = "one", spec_or: str | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Give a command SPEC (or SPECS), --module, --input, --set and every limit flag.

    `spec_or` names an optional positional argument that follows SPEC (explain's LAYER): with --module
    there is no SPEC, so a single positional word is that argument.
    """
    if kind not in ("one", "many", "grid"):
        raise ValueError(kind)

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        signature = inspect.signature(command)
        wanted = {"one": ("source",), "many": ("specs", "options"), "grid": ("source", "sweep_sets")}[kind]
        missing = [name for name in wanted if name not in signature.parameters]
        if missing:
            raise TypeError(f"{command.__name__} needs parameters {missing} to use @source_options({kind!r})")
        kept = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in signature.parameters.values()
                if p.name not in wanted]  # fmt: skip

        @functools.wraps(command)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            from archcalc.graph_source import SourceOptions

            values = {item.name: kwargs.pop(item.name) for item in dataclasses.fields(Limits) if item.name in kwargs}
            limits = Limits(**values)
            given = {name: kwargs.pop(name, None) for name in OPTIONS}
            spec, module = given["spec"], given["module"]
            if spec_or is not None and module is not None and spec is not None and kwargs.get(spec_or) is None:
                kwargs[spec_or], spec = spec, None  # `explain --module m.py:f LAYER`
            if kind == "many":
                options = SourceOptions.from_options(module, given["input"], given["set_"], limits, given["input_dtype"])
                return command(*args, specs=list(given["specs"] or []), options=options, **kwargs)
            if kind == "grid":
                options = SourceOptions.from_options(module, given["input"], None, limits, given["input_dtype"])
                return command(*args, source=_one(options, spec, module), sweep_sets=given["set_"], **kwargs)
            options = SourceOptions.from_options(module, given["input"], given["set_"], limits, given["input_dtype"])
            return command(*args, source=_one(options, spec, module), **kwargs)

        # SPEC comes first among the arguments (explain's LAYER follows it); the limits come last in --help.
        wrapper.__signature__ = signature.replace(  # type: ignore[attr-defined]
            parameters=[p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in _parameters(kind)] + kept
            + _limit_parameters())
        return wrapper

    return decorate


def _one(options: Any, spec: str | None, module: str | None) -> Any:
    from archcalc.errors import ArchcalcError

    if spec is not None and module is not None:
        raise ArchcalcError("give a SPEC or --module, not both")
    return options.source(spec)


def print_notes(notes: list[str]) -> None:
    """What the importer wants the user to know about a --module model, on stderr."""
    for note in notes:
        typer.echo(f"archcalc: note: {note}", err=True)
