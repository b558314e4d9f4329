"""`archcalc compare` output. Table and markdown put the specs side by side (one row per metric, a
ratio column per spec after the first); CSV and JSON are tidy (one record per spec, or per spec and
stage with --by stage) with exact integers, and ratios as fractions in JSON.
"""

from __future__ import annotations

import csv
import io
import json
import math
from fractions import Fraction

from archcalc.analysis.compare import METRICS, Comparison, MetricRow, final_receptive_field
from archcalc.render import dispatch
from archcalc.render.units import exact, human, human_bytes, shape_text

STAGE_METRICS = (("params", "params"), ("macs", "MACs"), ("flops", "FLOPs"), ("connections", "connections"),
                 ("activations", "activations"))  # fmt: skip
RATIO_DENOMINATOR_SHOWN = 100


def decimal_text(value: float) -> str:
    """Three significant figures in plain notation, never `7.61e+04`: '76,123', '8.02', '0.00123'."""
    if value == 0:
        return "0"
    digits = max(0, 2 - math.floor(math.log10(abs(value))))
    return f"{value:,.{digits}f}"


def ratio_text(ratio: Fraction | None) -> str:
    """'0.361 (13/36)', '8.02', '1', '76,123': a decimal, and the fraction when it is short."""
    if ratio is None:
        return "-"
    if ratio.denominator == 1:
        return f"{ratio.numerator:,}"
    decimal = decimal_text(float(ratio))
    return f"{decimal} ({ratio})" if ratio.denominator <= RATIO_DENOMINATOR_SHOWN else decimal


def _value_text(row: MetricRow, index: int, fmt) -> str:
    """A total in the report table's units: counts as `138.36 M`, bytes as `527.79 MiB` (exact: integers)."""
    if row.text:
        return row.text[index]
    value = row.values[index]
    if value is None:
        return "-"
    if row.key.endswith("_bytes") and fmt is human:
        return human_bytes(value)
    return fmt(value)


def _side_by_side(comparison: Comparison, fmt) -> tuple[list[str], list[list[str]]]:
    header = ["metric"]
    first = comparison.entries[0].label
    for index, entry in enumerate(comparison.entries):
        header.append(entry.label)
        if index:
            header.append(f"÷ {first}")
    rows = []
    for row in comparison.rows:
        cells = [row.label.replace(" (B)", "") if fmt is human else row.label]  # human bytes carry their unit
        for index in range(len(comparison.entries)):
            cells.append(_value_text(row, index, fmt))
            if index:
                cells.append(ratio_text(row.ratios[index]))
        rows.append(cells)
    return header, rows


def _stage_table(comparison: Comparison, fmt) -> tuple[list[str], list[list[str]]]:
    header = ["stage"]
    for entry in comparison.entries:
        header += [f"{entry.label} params", f"{entry.label} MACs"]
    rows = []
    for stage_row in comparison.stage_rows or []:
        cells = [stage_row.name]
        for stage in stage_row.stages:
            cells += ["-", "-"] if stage is None else [fmt(stage.params), fmt(stage.macs)]
        rows.append(cells)
    return header, rows


def _markdown_table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    return lines + ["| " + " | ".join(cells) + " |" for cells in rows]


def render_compare_markdown(comparison: Comparison) -> str:
    lines = ["# Comparison", "", "Specs: " + ", ".join(
        f"`{entry.label}` ({entry.spec}, input {'x'.join(map(str, entry.report.input_shape))})"
        for entry in comparison.entries) + f". Batch {comparison.entries[0].report.batch}, "
        f"{comparison.entries[0].report.dtype}; ratios divide by the first spec.", ""]  # fmt: skip
    lines += _markdown_table(*_side_by_side(comparison, exact))
    if comparison.stage_rows is not None:
        lines += ["", "## By stage", "", "Stages are top-level blocks or name prefixes (docs/reports.md).", ""]
        lines += _markdown_table(*_stage_table(comparison, exact))
    return "\n".join(lines) + "\n"


def render_compare_table(comparison: Comparison, exact_numbers: bool = False, width: int | None = None) -> str:
    from rich.console import Console
    from rich.table import Table

    fmt = exact if exact_numbers else human
    buffer = io.StringIO()
    console = Console(file=buffer, width=width or 160, color_system=None, highlight=False)
    for title, (header, rows) in (("comparison (ratios divide by the first spec)", _side_by_side(comparison, fmt)),
                                  ("by stage", _stage_table(comparison, fmt))):  # fmt: skip
        if title == "by stage" and comparison.stage_rows is None:
            continue
        table = Table(title=title, title_justify="left")
        for index, column in enumerate(header):
            table.add_column(column, justify="left" if index == 0 else "right", no_wrap=index == 0)
        for cells in rows:
            table.add_row(*cells)
        console.print(table)
    return buffer.getvalue()


def _records(comparison: Comparison, field_value) -> list[dict]:
    """One record per spec; `field_value` turns the final receptive field ([h, w] or None) into a cell."""
    records = []
    for index, entry in enumerate(comparison.entries):
        record: dict = {"label": entry.label, "spec": entry.spec, "name": entry.report.name,
                        "overrides": ";".join(f"{k}={v}" for k, v in entry.overrides.items())}  # fmt: skip
        for row in comparison.rows:
            record[row.key] = row.values[index]
        record["receptive_field"] = field_value(final_receptive_field(entry.report))
        records.append(record)
    return records


def render_compare_csv(comparison: Comparison) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if comparison.stage_rows is not None:
        writer.writerow(["label", "stage", "layers"] + [key for key, _ in STAGE_METRICS])
        for stage_row in comparison.stage_rows:
            for entry, stage in zip(comparison.entries, stage_row.stages):
                if stage is not None:
                    writer.writerow([entry.label, stage.name, len(stage.layers)]
                                    + [getattr(stage, key) for key, _ in STAGE_METRICS])  # fmt: skip
        return buffer.getvalue()
    records = _records(comparison, lambda field_: shape_text(field_))
    ratio_keys = [key for key, _ in METRICS]
    writer.writerow(list(records[0]) + [f"{key}_ratio" for key in ratio_keys])
    for index, record in enumerate(records):
        ratios = [row.ratios[index] for row in comparison.rows]
        writer.writerow(list(record.values()) + ["" if r is None else f"{float(r):.6g}" for r in ratios])
    return buffer.getvalue()


def render_compare_json(comparison: Comparison) -> str:
    specs = []
    for index, record in enumerate(_records(comparison, lambda field_: field_)):
        ratios = {row.key: None if row.ratios[index] is None else
                  {"fraction": str(row.ratios[index]), "value": float(row.ratios[index])}  # type: ignore[arg-type]
                  for row in comparison.rows}  # fmt: skip
        specs.append(record | {"ratios": ratios if index else None})
    data: dict = {"batch": comparison.entries[0].report.batch, "dtype": comparison.entries[0].report.dtype,
                  "specs": specs}  # fmt: skip
    if comparison.stage_rows is not None:
        data["stages"] = [{"stage": row.name, "specs": [None if stage is None else {
            "layers": len(stage.layers), **{key: getattr(stage, key) for key, _ in STAGE_METRICS}}
            for stage in row.stages]} for row in comparison.stage_rows]  # fmt: skip
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def render_comparison(comparison: Comparison, fmt: str, exact_numbers: bool = False) -> str:
    return dispatch(fmt, comparison, {"table": lambda item: render_compare_table(item, exact_numbers),
                                      "csv": render_compare_csv, "markdown": render_compare_markdown,
                                      "json": render_compare_json})  # fmt: skip
