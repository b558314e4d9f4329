"""Renderers: Report (plain data) -> text. Torch- and pandas-free."""

from __future__ import annotations

from typing import Any, Callable

from archcalc.analysis.results import Report
from archcalc.errors import ArchcalcError

FORMATS = ("table", "csv", "markdown", "json", "html")


def dispatch(fmt: str, item: Any, renderers: dict[str, Callable[[Any], str]]) -> str:
    """Render `item` with the renderer for `fmt`, or raise the one-line unknown-format error."""
    if fmt not in renderers:
        raise ArchcalcError(f"unknown format {fmt!r}; choose from {', '.join(renderers)}")
    return renderers[fmt](item)


def render(report: Report, fmt: str, exact: bool = False, width: int | None = None, color: bool = False,
           attachments=None, depth: int | str | None = None) -> str:  # fmt: skip
    """`attachments` (render.markdown.Attachments): the markdown document's diagram style and plot files.

    `depth`: the block tree's level to show (an int, "all" or "auto"). None keeps each format's default:
    the terminal table, markdown and HTML pick a readable depth, CSV and JSON list every layer.
    `width` (None: unlimited) and `color` apply to the terminal table.
    """
    if fmt == "json":
        from archcalc.render.json_out import render_json

        return render_json(report, depth)
    if fmt == "csv":
        from archcalc.render.csv_out import render_csv

        return render_csv(report, depth)
    if fmt == "markdown":
        from archcalc.render.markdown import render_markdown

        return render_markdown(report, attachments, depth)
    if fmt == "html":
        from archcalc.render.html import render_html

        return render_html(report, depth)
    if fmt == "table":
        from archcalc.render.table import render_table

        return render_table(report, exact=exact, width=width, color=color, depth=depth)
    raise ArchcalcError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
