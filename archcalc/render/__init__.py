"""Renderers: Report (plain data) -> text. Torch- and pandas-free."""

from __future__ import annotations

from typing import Any, Callable

from archcalc.analysis.results import Report
from archcalc.errors import ArchcalcError

FORMATS = ("table", "csv", "markdown", "json")


def dispatch(fmt: str, item: Any, renderers: dict[str, Callable[[Any], str]]) -> str:
    """Render `item` with the renderer for `fmt`, or raise the one-line unknown-format error."""
    if fmt not in renderers:
        raise ArchcalcError(f"unknown format {fmt!r}; choose from {', '.join(renderers)}")
    return renderers[fmt](item)


def render(report: Report, fmt: str, exact: bool = False, width: int | None = None, color: bool = False,
           attachments=None) -> str:  # fmt: skip
    """`attachments` (render.markdown.Attachments): the markdown document's diagram style and plot files."""
    if fmt == "json":
        from archcalc.render.json_out import render_json

        return render_json(report)
    if fmt == "csv":
        from archcalc.render.csv_out import render_csv

        return render_csv(report)
    if fmt == "markdown":
        from archcalc.render.markdown import render_markdown

        return render_markdown(report, attachments)
    if fmt == "table":
        from archcalc.render.table import render_table

        return render_table(report, exact=exact, width=width, color=color)
    raise ArchcalcError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
