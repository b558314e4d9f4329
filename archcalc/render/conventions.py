"""Conventions as text: the side-by-side table of `archcalc conventions` (table, markdown, csv, json),
and the line that table and markdown reports carrying a convention (`report --convention NAME`) end with."""

from __future__ import annotations

import csv
import io

from archcalc.conventions import ITEM_LABELS, ITEMS, ConventionResult
from archcalc.errors import ArchcalcError
from archcalc.render.units import exact, human, shape_text

CONVENTION_FORMATS = ("table", "markdown", "csv", "json")
MEASURED = "measured"  # the column of the tools' own totals (`--peers`)


def _measured_text(value, fmt) -> str:
    return fmt(value) if isinstance(value, int) else str(value)


def _header(peers: dict | None) -> list[str]:
    return ["convention", "total"] + [ITEM_LABELS[item] for item in ITEMS] + ([MEASURED] if peers is not None else [])


def _rows(results: list[ConventionResult], fmt, peers: dict | None) -> list[list[str]]:
    rows = []
    for result in results:
        row = [result.convention, fmt(result.total)] + [fmt(result.items[item]) for item in ITEMS]
        if peers is not None:
            row.append(_measured_text(peers.get(result.convention, "-"), fmt))
        rows.append(row)
    return rows


def _legend(results: list[ConventionResult]) -> list[str]:
    return [f"{r.convention}: {r.headline} - {r.unit} ({r.tool})" for r in results]


def render_table(title: str, results: list[ConventionResult], exact_numbers: bool, peers: dict | None) -> str:
    from rich.console import Console
    from rich.table import Table

    fmt = exact if exact_numbers else human
    table = Table(title=title, title_justify="left")
    for position, column in enumerate(_header(peers)):
        table.add_column(column, justify="left" if position == 0 else "right", no_wrap=True)
    for row in _rows(results, fmt, peers):
        table.add_row(*row)
    buffer = io.StringIO()
    console = Console(file=buffer, width=200, force_terminal=False, color_system=None, highlight=False)
    console.print(table)
    for line in _legend(results):
        console.print(line)
    return buffer.getvalue()


def render_markdown(title: str, results: list[ConventionResult], peers: dict | None) -> str:
    header = _header(peers)
    lines = [f"# {title}", "", "| " + " | ".join(header) + " |", "|---" + "|---:" * (len(header) - 1) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in _rows(results, exact, peers)]
    lines += [""] + [f"- {line}" for line in _legend(results)]
    return "\n".join(lines) + "\n"


def render_csv(results: list[ConventionResult], peers: dict | None) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["convention", "tool", "headline", "unit", "total", *ITEMS] + ([MEASURED] if peers else []))
    for r in results:
        writer.writerow([r.convention, r.tool, r.headline, r.unit, r.total, *(r.items[i] for i in ITEMS)]
                        + ([peers.get(r.convention, "")] if peers else []))  # fmt: skip
    return buffer.getvalue()


def render_json(report, results: list[ConventionResult], peers: dict | None) -> str:
    from archcalc.render.json_out import dumps_layered

    data = {
        "name": report.name,
        "input_shape": report.input_shape,
        "batch": report.batch,
        "conventions": [
            {"convention": r.convention, "tool": r.tool, "headline": r.headline, "unit": r.unit, "total": r.total,
             "breakdown": r.items, **({MEASURED: peers.get(r.convention)} if peers else {})}
            for r in results
        ],
        "layers": [
            {"name": layer.name, "type": layer.type, "category": layer.category,
             "counts": {r.convention: r.layers[position] for r in results}}
            for position, layer in enumerate(report.layers)
        ],
    }  # fmt: skip
    return dumps_layered(data)


def render_conventions(report, results: list[ConventionResult], fmt: str, exact_numbers: bool = False,
                       peers: dict | None = None) -> str:  # fmt: skip
    """The side-by-side comparison; `peers` maps a convention to the tool's own total (or why it is missing)."""
    title = f"{report.name}  (input {shape_text(report.input_shape)}, batch {report.batch})"
    if fmt == "table":
        return render_table(title, results, exact_numbers, peers)
    if fmt == "markdown":
        return render_markdown(title, results, peers)
    if fmt == "csv":
        return render_csv(results, peers)
    if fmt == "json":
        return render_json(report, results, peers)
    raise ArchcalcError(f"unknown format {fmt!r}; choose from {', '.join(CONVENTION_FORMATS)}")


def convention_summary(result: ConventionResult) -> str:
    """The line a table or markdown report carrying a convention ends with: the total as a sum of named items."""
    parts = " + ".join(f"{ITEM_LABELS[item]} {exact(value)}" for item, value in result.items.items() if value)
    line = f"{result.convention} convention ({result.headline}, {result.unit}): {exact(result.total)}"
    return line + (f" = {parts}" if parts else "")


__all__ = ["CONVENTION_FORMATS", "convention_summary", "render_conventions"]
