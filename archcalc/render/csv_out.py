"""CSV: one row per layer, exact integers; shapes and pairs as '224x224', inputs ';'-separated.

There is no totals row (summing a column gives the total); it would be counted twice by anyone who
sums the columns in pandas or a spreadsheet.
"""

from __future__ import annotations

import csv
import io

from archcalc.analysis.results import Report
from archcalc.render.units import shape_text

COLUMNS = ("name", "type", "inputs", "output_shape", "params", "trainable_params", "non_trainable_params",
           "buffers", "macs", "flops", "connections", "activations", "receptive_field", "effective_stride",
           "effective_padding", "rf_aligned")  # fmt: skip


def _cell(value) -> object:
    if isinstance(value, list):
        return ";".join(value) if value and isinstance(value[0], str) else shape_text(value)
    if value is None:
        return ""
    return value


def render_csv(report: Report) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for layer in report.layers:
        writer.writerow([_cell(getattr(layer, column)) for column in COLUMNS])
    return buffer.getvalue()
