"""`archcalc sweep` output: one row per combination (variables, then totals), in every format."""

from __future__ import annotations

import csv
import io
import json

from archcalc.analysis.sweep import TOTALS, Sweep
from archcalc.escape import csv_cell, markdown_cell, rich_text
from archcalc.render import dispatch
from archcalc.render.units import exact, human, pair_text, shape_text

LABELS = {"params": "params", "macs": "MACs", "flops": "FLOPs", "connections": "connections",
          "activations": "activations", "param_bytes": "param memory (B)",
          "activation_bytes": "activation memory (B)", "peak_activation_bytes": "peak inference memory (B)",
          "depth": "depth", "receptive_field": "final RF"}
COLUMNS = TOTALS + ("depth", "receptive_field")


def _cells(sweep: Sweep, fmt) -> tuple[list[str], list[list[str]]]:
    header = list(sweep.variables) + [LABELS[key] for key in COLUMNS]
    rows = []
    for point in sweep.points:
        row = point.row()
        rows.append([str(row["values"][name]) for name in sweep.variables]
                    + [fmt(row[key]) for key in TOTALS] + [str(row["depth"]), pair_text(row["receptive_field"])])
    return header, rows


def render_sweep_markdown(sweep: Sweep) -> str:
    header, rows = _cells(sweep, exact)
    alignment = "|" + "---|" * len(sweep.variables) + "---:|" * len(COLUMNS)
    lines = [f"# Sweep of {sweep.name}", "", f"{len(rows)} combinations of {', '.join(sweep.variables)}.", "",
             "| " + " | ".join(header) + " |", alignment]
    lines += ["| " + " | ".join(markdown_cell(cell) for cell in cells) + " |" for cells in rows]
    return "\n".join(lines) + "\n"


def render_sweep_table(sweep: Sweep, exact_numbers: bool = False, width: int | None = None) -> str:
    from rich.console import Console
    from rich.table import Table

    header, rows = _cells(sweep, exact if exact_numbers else human)
    table = Table(title=f"sweep of {sweep.name}", title_justify="left")
    for index, column in enumerate(header):
        table.add_column(column, justify="left" if index < len(sweep.variables) else "right", no_wrap=True)
    for cells in rows:
        table.add_row(*(rich_text(cell) for cell in cells))
    buffer = io.StringIO()
    Console(file=buffer, width=width or 200, color_system=None, highlight=False).print(table)
    return buffer.getvalue()


def render_sweep_csv(sweep: Sweep) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(list(sweep.variables) + list(COLUMNS))
    for point in sweep.points:
        row = point.row()
        values = [json.dumps(v) if isinstance(v, list) else csv_cell(v) for v in row["values"].values()]
        writer.writerow(values + [row[key] for key in TOTALS] + [row["depth"], shape_text(row["receptive_field"])])
    return buffer.getvalue()


def render_sweep_json(sweep: Sweep) -> str:
    data = {"name": sweep.name, "variables": sweep.variables, "rows": [point.row() for point in sweep.points]}
    return json.dumps(data, indent=2) + "\n"


def render_sweep(sweep: Sweep, fmt: str, exact_numbers: bool = False) -> str:
    return dispatch(fmt, sweep, {"table": lambda item: render_sweep_table(item, exact_numbers),
                                 "csv": render_sweep_csv, "markdown": render_sweep_markdown,
                                 "json": render_sweep_json})  # fmt: skip
