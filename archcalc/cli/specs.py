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
    """List the built-in specs with their params, MACs, knobs and description (or write their reports)."""
    from archcalc.spec import builtin_specs

    if reports is not None:
        _write_reports(reports)
        return

    if format not in ("table", "json"):
        from archcalc.errors import ArchcalcError, brief

        raise ArchcalcError(f"zoo --format takes table or json, got {brief(format)}")
    from archcalc.cli.terminal import table_width, use_color
    from archcalc.render.zoo_list import zoo_json, zoo_rows, zoo_table

    rows = zoo_rows(builtin_specs())
    emit(zoo_json(rows) if format == "json" else zoo_table(rows, table_width(None, None), use_color(None)), None)


MANIFEST = "zoo/.archcalc-written"  # the files the last `zoo --reports` wrote: only those may be removed


def _write_reports(folder: str) -> None:
    """The zoo reports (see archcalc/render/zoo_reports.py), written all or none. A report this command
    wrote before for a spec that is gone is removed; no other file is ever touched."""
    from pathlib import Path

    from archcalc.errors import ArchcalcError
    from archcalc.io import write_files
    from archcalc.render.zoo_reports import zoo_report_files
    from archcalc.spec import builtin_specs

    root = Path(folder)
    if root.exists() and not root.is_dir():
        raise ArchcalcError("--reports takes a folder; this is a file", file=folder)
    if (root / "zoo").exists() and not (root / "zoo").is_dir():
        raise ArchcalcError("must be a folder (zoo --reports writes its reports there)", file=str(root / "zoo"))
    files = zoo_report_files({name: str(path) for name, path in builtin_specs().items()})
    try:
        previous = set((root / MANIFEST).read_text(encoding="utf-8").split("\n")) - {""}
    except (OSError, UnicodeDecodeError):
        previous = set()
    for folder_name in {str((root / name).parent) for name in files} | {str(root / "zoo")}:
        Path(folder_name).mkdir(parents=True, exist_ok=True)
    written = sorted(files)
    write_files({root / name: text for name, text in files.items()} | {root / MANIFEST: "\n".join(written) + "\n"})
    for name in sorted(previous - set(files)):
        old = root / name
        if name.startswith("zoo/") and name.endswith(".md") and ".." not in name and old.is_file():
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
