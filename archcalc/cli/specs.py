"""`archcalc zoo` (built-in specs), `archcalc layers` (layer types) and `archcalc schema` (JSON Schema)."""

from __future__ import annotations

from typing import Optional

import typer

from archcalc.cli.application import app
from archcalc.cli.common import emit, handle_errors


@app.command()
@handle_errors
def zoo(
    format: str = typer.Option("table", "--format", "-f", help="table or json"),
    reports: Optional[str] = typer.Option(None, "--reports", help="Write every spec's report and a summary here."),
) -> None:
    """List the built-in specs with a one-line description and source (or write their reports)."""
    import json

    from archcalc.spec import builtin_specs
    from archcalc.spec.source import load_document

    if reports is not None:
        _write_reports(reports)
        return

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


def _write_reports(folder: str) -> None:
    """The zoo reports (see archcalc/render/zoo_reports.py); stale files in zoo/ are removed."""
    from pathlib import Path

    from archcalc.io import write_atomic
    from archcalc.render.zoo_reports import zoo_report_files
    from archcalc.spec import builtin_specs

    root = Path(folder)
    files = zoo_report_files({name: str(path) for name, path in builtin_specs().items()})
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        write_atomic(root / name, text)
    wanted = {root / name for name in files}
    for old in sorted((root / "zoo").rglob("*.md")):
        if old not in wanted:
            old.unlink()
    typer.echo(f"wrote {len(files)} files under {root}", err=True)


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
