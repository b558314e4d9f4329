"""`archcalc sweep` output: one row per combination (variables, then totals), in every format."""

from __future__ import annotations

import csv
import io
import json

from archcalc.analysis.sweep import TOTALS, Sweep
from archcalc.escape import csv_cell, markdown_cell
from archcalc.render import dispatch
from archcalc.render.units import exact, human, pair_text, shape_text

LABELS = {"params": "params", "macs": "MACs", "flops": "FLOPs", "connections": "connections",
          "activations": "activations", "param_bytes": "param memory (B)",
          "activation_bytes": "activation memory (B)", "peak_activation_bytes": "peak inference memory (B)",
          "depth": "depth", "receptive_field": "final RF", "prefill_quadratic_flops": "prefill FLOPs ∝ L²",
          "prefill_linear_flops": "prefill FLOPs ∝ L", "decode_flops": "decode FLOPs/token",
          "kv_cache_bytes": "KV cache (B)", "training_flops_per_token": "train FLOPs/token"}  # fmt: skip
STRUCTURE = ("depth", "receptive_field")
# Which metric columns a narrow terminal leaves out first (higher first); params, MACs and a decoder's LLM
# figures always stay.
DROP = {"flops": 3, "connections": 6, "activations": 5, "param_bytes": 4, "activation_bytes": 7,
        "peak_activation_bytes": 8, "depth": 2, "receptive_field": 1, "prefill_quadratic_flops": 0,
        "prefill_linear_flops": 0, "decode_flops": 0, "kv_cache_bytes": 0, "training_flops_per_token": 0}  # fmt: skip


def columns_of(sweep: Sweep) -> tuple[str, ...]:
    """The totals, depth and final RF, then the LLM figures when every point is a decoder."""
    return TOTALS + STRUCTURE + sweep.metrics[len(TOTALS) :]


def _cell(key: str, value, fmt) -> str:
    if key == "depth":
        return str(value)
    if key == "receptive_field":
        return pair_text(value)
    return fmt(value) if isinstance(value, int) else f"{value:.6g}"  # a fractional FLOPs/token (none so far)


def variable_headers(sweep: Sweep, metric_names: tuple[str, ...] | list[str]) -> list[str]:
    """The variables' column names; one named like a metric column (a variable `depth`) becomes `set:depth`,
    so no two columns share a name."""
    taken = {name.lower() for name in metric_names}
    return [f"set:{name}" if name.lower() in taken else name for name in sweep.variables]


def _cells(sweep: Sweep, fmt) -> tuple[list[str], list[list[str]]]:
    columns = columns_of(sweep)
    labels = [LABELS[key] for key in columns]
    header = variable_headers(sweep, labels + list(columns)) + labels
    rows = []
    for point in sweep.points:
        row = point.row()
        rows.append([str(row["values"][name]) for name in sweep.variables]
                    + [_cell(key, row[key], fmt) for key in columns])  # fmt: skip
    return header, rows


def render_sweep_markdown(sweep: Sweep) -> str:
    header, rows = _cells(sweep, exact)
    alignment = "|" + "---|" * len(sweep.variables) + "---:|" * len(columns_of(sweep))
    lines = [f"# Sweep of {sweep.name}", "", f"{len(rows)} combinations of {', '.join(sweep.variables)}.", "",
             "| " + " | ".join(header) + " |", alignment]
    lines += ["| " + " | ".join(markdown_cell(cell) for cell in cells) + " |" for cells in rows]
    return "\n".join(lines) + "\n"


def render_sweep_table(sweep: Sweep, exact_numbers: bool = False, width: int | None = None,
                       color: bool = False) -> str:  # fmt: skip
    from archcalc.render.columns import Column, console_text, fit_columns, left_out_line, rich_table

    header, rows = _cells(sweep, exact if exact_numbers else human)
    count, keys = len(sweep.variables), columns_of(sweep)
    columns = [Column(title, [cells[index] for cells in rows], justify="left" if index < count else "right",
                      drop=0 if index < count else DROP.get(keys[index - count], 0), shrink_to=8)
               for index, title in enumerate(header)]  # fmt: skip
    shown, left_out = fit_columns(columns, width)
    out: list = [rich_table(shown, title=f"sweep of {sweep.name}")]
    line = left_out_line(left_out, width)
    return console_text(out + ([line] if line else []), width, color)


def render_sweep_csv(sweep: Sweep) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    columns = columns_of(sweep)
    writer.writerow(variable_headers(sweep, columns) + list(columns))
    for point in sweep.points:
        row = point.row()
        values = [json.dumps(v) if isinstance(v, list) else csv_cell(v) for v in row["values"].values()]
        writer.writerow(values + [shape_text(row[key]) if key == "receptive_field" else row[key] for key in columns])
    return buffer.getvalue()


def render_sweep_json(sweep: Sweep) -> str:
    data = {"name": sweep.name, "variables": sweep.variables, "rows": [point.row() for point in sweep.points]}
    return json.dumps(data, indent=2) + "\n"


def render_sweep(sweep: Sweep, fmt: str, exact_numbers: bool = False, width: int | None = None,
                 color: bool = False) -> str:  # fmt: skip
    return dispatch(fmt, sweep, {"table": lambda item: render_sweep_table(item, exact_numbers, width, color),
                                 "csv": render_sweep_csv, "markdown": render_sweep_markdown,
                                 "json": render_sweep_json})  # fmt: skip
