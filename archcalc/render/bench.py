"""BenchReport -> text: table (rich), markdown, csv or json. Torch-free.

Markdown and the rich table share the rows of render/bench_rows.py (re-exported here); csv and json live
in render/bench_export.py.
"""

from __future__ import annotations

from archcalc.bench.results import BenchReport
from archcalc.errors import ArchcalcError
from archcalc.render.bench_rows import (  # noqa: F401 - re-exported: the rows of every bench view
    CATEGORY_HEADER, COMPARE_HEADER, FLAG_LEGEND, LAYER_HEADER, category_rows, compare_rows, correlation_text,
    faults_text, flags_text, layer_row, machine_rows, percent, run_title, seconds_text, summary_rows, timing_text,
)

FORMATS = ("table", "markdown", "csv", "json")


def _md_row(cells) -> str:
    return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"


def _md_table(header, rows, right_from: int = 1) -> list[str]:
    align = ["---" if i < right_from else "---:" for i in range(len(header))]
    return [_md_row(header), _md_row(align)] + [_md_row(row) for row in rows]


def render_markdown(report: BenchReport) -> str:
    lines = [f"# bench: {report.runs[0].name}", ""]
    if report.warnings:
        lines += ["**Doubtful measurements:**", ""] + [f"- {warning}" for warning in report.warnings] + [""]
    lines += ["Measured on (figures from another machine do not compare):", ""]
    lines += _md_table(("machine", ""), machine_rows(report), right_from=2)
    for run in report.runs:
        lines += ["", f"## {run_title(report, run)}", ""]
        lines += _md_table(("summary", ""), summary_rows(run), right_from=2)
        lines += ["", "By layer category:", ""]
        lines += _md_table(CATEGORY_HEADER, category_rows(run))
        lines += ["", "Layers (time: median over rounds; GFLOP/s achieved; FLOP/B: arithmetic intensity; faults: "
                  f"minor page faults per call; {FLAG_LEGEND}):", ""]  # fmt: skip
        lines += _md_table(LAYER_HEADER, [(f"`{r[0]}`",) + r[1:] for r in (layer_row(l, True) for l in run.layers)],
                           right_from=2)  # fmt: skip
    if len(report.runs) > 1:
        lines += ["", "## Comparison", ""] + _md_table(COMPARE_HEADER, compare_rows(report))
    return "\n".join(lines) + "\n"


def render_bench(report: BenchReport, fmt: str, exact_counts: bool = False, width: int | None = None) -> str:
    if fmt == "markdown":
        return render_markdown(report)
    if fmt == "table":
        from archcalc.render.bench_table import render_table

        return render_table(report, exact_counts=exact_counts, width=width)
    if fmt in ("csv", "json"):
        from archcalc.render.bench_export import render_csv, render_json

        return render_csv(report) if fmt == "csv" else render_json(report)
    raise ArchcalcError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
