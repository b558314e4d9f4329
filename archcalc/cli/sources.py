"""Where a command's graph comes from: a SPEC (file or built-in name) or `--module` (a PyTorch model).

`--module` imports torch and runs the user's code, so it is only touched when given.
"""

from __future__ import annotations

from typing import Optional

import typer

from archcalc.cli.common import parse_shape
from archcalc.errors import ArchcalcError
from archcalc.graph import Graph

SPEC_HELP = "A spec file (YAML or JSON) or a built-in name (see `archcalc zoo`); or use --module."
MODULE_HELP = ("A PyTorch model instead of a spec: FILE.py:CALLABLE or package.module:CALLABLE, a function "
               "returning an nn.Module or an nn.Module class needing no arguments. This runs that code.")  # fmt: skip
INPUT_HELP = "The input shape without the batch: CxHxW, CxL or F (replaces the spec's; needed with --module)."


def module_option() -> Optional[str]:
    return typer.Option(None, "--module", "-m", help=MODULE_HELP)


def load_graph(
    spec: str | None, module: str | None, input: str | None, overrides: list[str] | None, limits=None
) -> tuple[Graph, dict]:
    """The graph, and module-path labels (class names) when it was imported."""
    if spec is not None and module is not None:
        raise ArchcalcError("give a SPEC or --module, not both")
    if spec is None and module is None:
        raise ArchcalcError("give a SPEC (a spec file or built-in name) or --module FILE.py:CALLABLE")
    if module is None:
        from archcalc.spec import load_spec, parse_overrides

        from archcalc.limits import Limits

        graph = load_spec(spec, parse_overrides(overrides), limits=limits or Limits(), input_shape=parse_shape(input))
        return graph, {}
    if overrides:
        raise ArchcalcError("--set replaces spec variables; a --module model has none")
    shape = parse_shape(input)
    if shape is None:
        raise ArchcalcError("--module needs --input, the model's input shape without the batch (e.g. 3x224x224)")
    from archcalc.importer import import_model
    from archcalc.importer.loading import load_callable

    factory, label = load_callable(module)
    result = import_model(factory, shape, source=label)
    for note in result.notes:
        typer.echo(f"archcalc: note: {note}", err=True)
    return result.graph, result.labels
