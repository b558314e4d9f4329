"""The terminal view of a BenchReport (rich): machine, then per run its summary, categories and layers."""

from __future__ import annotations

import io

from archcalc.render.bench import (CATEGORY_HEADER, COMPARE_HEADER, LAYER_HEADER, category_rows, compare_rows,
                                   layer_row, machine_rows, run_title, summary_rows)  # fmt: skip
from archcalc.bench.results import BenchReport


def _table(title: str | None, header: tuple[str, ...], rows, left: int = 1):
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for position, name in enumerate(header):
        table.add_column(name, justify="left" if position < left else "right", no_wrap=True)
    for row in rows:
        table.add_row(*row)
    return table


def _pairs(rows):
    from rich.table import Table

    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for row in rows:
        table.add_row(*row)
    return table


def render_table(report: BenchReport, exact_counts: bool = False, width: int | None = None) -> str:
    from rich.console import Console

    buffer = io.StringIO()
    console = Console(file=buffer, width=width or 160, force_terminal=False, color_system=None, highlight=False)
    for run in report.runs:
        console.print(_table(run_title(report, run), LAYER_HEADER, [layer_row(l, exact_counts) for l in run.layers],
                             left=2))  # fmt: skip
        console.print(_table(None, CATEGORY_HEADER, category_rows(run)))
        console.print(_pairs(summary_rows(run)))
        console.print()
    if len(report.runs) > 1:
        console.print(_table("comparison", COMPARE_HEADER, compare_rows(report)))
    console.print(_pairs(machine_rows(report)))
    return buffer.getvalue()
