"""The terminal table (rich): one row per layer, then the totals, in human units (`exact=True`
prints every integer in full)."""

from __future__ import annotations

import io

from archcalc.analysis.results import Report
from archcalc.render.markdown import incomplete_lines, summary_rows
from archcalc.render.units import exact as exact_text
from archcalc.render.units import human, pair_text, shape_text


def render_table(report: Report, exact: bool = False, width: int | None = None, color: bool = False) -> str:
    from rich.console import Console
    from rich.table import Table

    fmt = exact_text if exact else human
    table = Table(title=f"{report.name}  (input {shape_text(report.input_shape)}, batch {report.batch})",
                  show_footer=True, title_justify="left")  # fmt: skip
    t = report.totals
    table.add_column("layer", footer="total", no_wrap=True)
    table.add_column("type", no_wrap=True)
    table.add_column("output", no_wrap=True)
    for title, value in (("params", t.params), ("MACs", t.macs), ("FLOPs", t.flops), ("connections", t.connections)):
        table.add_column(title, footer=fmt(value), justify="right", no_wrap=True)
    table.add_column("RF", justify="right", no_wrap=True)
    for layer in report.layers:
        rf = pair_text(layer.receptive_field) + ("" if layer.rf_aligned in (True, None) else "*")
        table.add_row(layer.name, layer.type, shape_text(layer.output_shape), fmt(layer.params), fmt(layer.macs),
                      fmt(layer.flops), fmt(layer.connections), rf)  # fmt: skip
    summary = Table(show_header=False, box=None, pad_edge=False)
    summary.add_column(style="bold")
    summary.add_column(justify="right")
    summary.add_column(justify="right")
    for row in summary_rows(report):
        summary.add_row(*row)
    if report.training is not None:
        from archcalc.render.training import training_rows

        for row in training_rows(report.training):
            summary.add_row(*row)
    buffer = io.StringIO()
    console = Console(file=buffer, width=width or 160, force_terminal=color, color_system="auto" if color else None,
                      highlight=False)  # fmt: skip
    console.print(table)
    console.print(summary)
    if any(layer.rf_aligned is False for layer in report.layers):
        console.print("* receptive fields of the merged inputs are not aligned (different strides or centres)")
    for line in incomplete_lines(report):
        console.print(line, markup=False)
    if report.convention is not None:
        from archcalc.render.conventions import convention_summary

        console.print(convention_summary(report.convention), markup=False)
    return buffer.getvalue()
