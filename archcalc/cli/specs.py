"""`archcalc zoo` (built-in specs), `archcalc layers` (layer types) and `archcalc schema` (JSON Schema)."""

from __future__ import annotations

from typing import Optional

import typer

from archcalc.cli.app import app
from archcalc.cli.common import emit, handle_errors


@app.command()
@handle_errors
def zoo(
    format: str = typer.Option("table", "--format", "-f", help="table or json"),
) -> None:
    """List the built-in specs with a one-line description and source."""
    import json

    from archcalc.spec import builtin_specs
    from archcalc.spec.source import load_document

    rows = []
    for name, path in builtin_specs().items():
        doc = load_document(path)
        doc = doc if isinstance(doc, dict) else {}  # a broken file in the specs folder still gets a row
        rows.append({"name": name, "description": str(doc.get("description", "")),
                     "source": str(doc.get("source", ""))})  # fmt: skip
    if format == "json":
        emit(json.dumps(rows, indent=2) + "\n", None)
        return
    if format != "table":
        from archcalc.errors import ArchcalcError

        raise ArchcalcError(f"zoo --format takes table or json, got {format!r}")
    width = max((len(row["name"]) for row in rows), default=4)
    lines = [f"{row['name']:<{width}}  {row['description']}" + (f"  [{row['source']}]" if row["source"] else "")
             for row in rows]  # fmt: skip
    emit("\n".join(lines) + "\n", None)


@app.command()
@handle_errors
def schema(
    output: Optional[str] = typer.Option(None, "--output", "-o", help="Write here instead of stdout."),
) -> None:
    """Print the JSON Schema of the spec format (for editor completion and validation)."""
    import json

    from archcalc.spec.schema import spec_schema

    emit(json.dumps(spec_schema(), indent=2) + "\n", output)


@app.command()
@handle_errors
def layers(
    format: str = typer.Option("table", "--format", "-f", help="table or markdown"),
) -> None:
    """List the layer types a spec can use, with attributes and counting rules (markdown)."""
    from archcalc.errors import ArchcalcError
    from archcalc.render.layer_docs import layer_reference_markdown, layer_reference_text

    if format not in ("table", "markdown"):
        raise ArchcalcError(f"layers --format takes table or markdown, got {format!r}")
    emit(layer_reference_markdown() if format == "markdown" else layer_reference_text(), None)
