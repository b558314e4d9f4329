"""`archcalc zoo`: every built-in spec with its params and MACs at its defaults, its knobs (the variables
`--set` changes, derived ones left out) and what it is. A spec that cannot be read or analysed still
gets its row, saying why, so one broken file does not hide the others."""

from __future__ import annotations

import json
from pathlib import Path

from archcalc.errors import ArchcalcError
from archcalc.render.units import human


def zoo_rows(specs: dict[str, Path]) -> list[dict]:
    from archcalc.analysis import analyse
    from archcalc.spec.variables_doc import spec_variables

    rows = []
    for name, path in specs.items():
        row: dict = {"name": name, "description": "", "source": "", "params": None, "macs": None, "knobs": []}
        try:
            title, variables = spec_variables(str(path))
            from archcalc.spec import load_spec

            graph = load_spec(str(path))
            report = analyse(graph)
            row.update(description=graph.description, source=graph.source, params=report.totals.params,
                       macs=report.totals.macs, knobs=[v.name for v in variables if not v.derived])  # fmt: skip
        except ArchcalcError as exc:
            row["description"] = f"(cannot be read: {exc})"  # one broken file does not hide the others
        rows.append(row)
    return rows


def zoo_json(rows: list[dict]) -> str:
    return json.dumps(rows, indent=2, ensure_ascii=False) + "\n"


def zoo_table(rows: list[dict], width: int | None = None, color: bool = False) -> str:
    from archcalc.render.columns import Column, console_text, fit_columns, left_out_line, rich_table

    def count(value) -> str:
        return "-" if value is None else human(value)

    described = [row["description"] for row in rows]  # the sources are in --format json
    columns = [
        Column("spec", [row["name"] for row in rows], justify="left"),
        Column("params", [count(row["params"]) for row in rows]),
        Column("MACs", [count(row["macs"]) for row in rows]),
        Column("knobs (--set)", [", ".join(row["knobs"]) for row in rows], justify="left", drop=2, shrink_to=16,
               wrap=True),
        Column("description", described, justify="left", drop=1, shrink_to=24, wrap=True),
    ]  # fmt: skip
    shown, left_out = fit_columns(columns, width)
    line = left_out_line(left_out, width)
    notes = ["params and MACs at each spec's defaults (one sample); `archcalc variables SPEC` explains the knobs"]
    return console_text([rich_table(shown, title=f"{len(rows)} built-in specs")] + ([line] if line else []) + notes,
                        width, color)  # fmt: skip


__all__ = ["zoo_json", "zoo_rows", "zoo_table"]
