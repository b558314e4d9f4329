"""The terminal view of a BenchReport (rich): machine, then per run its summary, categories and layers."""

from __future__ import annotations


from archcalc.render.bench_rows import (CATEGORY_HEADER, COMPARE_HEADER, LAYER_HEADER, category_rows, compare_rows,
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


# Which layer columns a narrow terminal leaves out first (higher first); name, times and shares stay.
LAYER_DROP = {"faults": 7, "FLOP/B": 6, "GFLOP/s": 5, "MACs": 4, "FLOPs": 3, "type": 2, "IQR": 1}


def _layer_table(report: BenchReport, run, exact_counts: bool, width: int | None) -> list:
    from archcalc.render.columns import Column, fit_columns, left_out_line, rich_table

    rows = [layer_row(layer, exact_counts) for layer in run.layers]
    columns = [Column(title, [row[index] for row in rows], justify="left" if index < 2 else "right",
                      drop=LAYER_DROP.get(title, 0), shrink_to=14 if index == 0 else None)
               for index, title in enumerate(LAYER_HEADER)]  # fmt: skip
    shown, left_out = fit_columns(columns, width)
    line = left_out_line(left_out, width)
    return [rich_table(shown, title=run_title(report, run))] + ([line] if line else [])


def render_table(report: BenchReport, exact_counts: bool = False, width: int | None = None) -> str:
    from archcalc.render.bench_rows import FLAG_LEGEND
    from archcalc.render.columns import console_text

    out: list = [f"! {warning}" for warning in report.warnings]
    for run in report.runs:
        out += _layer_table(report, run, exact_counts, width)
        if any(layer.flags for layer in run.layers):
            out.append(FLAG_LEGEND)
        out += [_table(None, CATEGORY_HEADER, category_rows(run)), _pairs(summary_rows(run)), ""]
    if len(report.runs) > 1:
        out.append(_table("comparison", COMPARE_HEADER, compare_rows(report)))
    out.append(_pairs(machine_rows(report)))
    return console_text(out, width, False)
