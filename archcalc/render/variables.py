"""`archcalc variables SPEC`: a spec's variables with their defaults, values and meaning (table, markdown, json)."""

from __future__ import annotations

import json

from archcalc.render import dispatch
from archcalc.spec.variables_doc import VariableDoc


def _text(value) -> str:
    return json.dumps(value) if isinstance(value, (list, dict, bool)) or value is None else str(value)


def _rows(variables: list[VariableDoc]) -> list[list[str]]:
    rows = []
    for v in variables:
        default = _text(v.default)
        value = _text(v.value)
        rows.append([v.name, default, "" if value == default else value,
                     ("derived: " if v.derived else "") + v.meaning])  # fmt: skip
    return rows


HEADER = ["variable", "default", "value", "meaning"]
FOOTNOTE = "Set a knob with --set name=value (report, check, compare, ...); sweep it with sweep --set name=a,b,c."


def variables_table(name: str, variables: list[VariableDoc], width: int | None = None) -> str:
    from archcalc.render.columns import Column, console_text, fit_columns, rich_table

    if not variables:
        return f"{name} has no variables.\n"
    rows = _rows(variables)
    columns = [Column(title, [row[index] for row in rows], justify="left", drop=2 if index == 2 else 0,
                      shrink_to=24 if index else None, wrap=bool(index)) for index, title in enumerate(HEADER)]  # fmt: skip
    shown, _ = fit_columns(columns, width)
    return console_text([rich_table(shown, title=f"variables of {name}"), FOOTNOTE], width, False)


def variables_markdown(name: str, variables: list[VariableDoc]) -> str:
    lines = [f"# Variables of {name}", ""]
    if not variables:
        return "\n".join(lines + ["None.", ""])
    lines += ["| " + " | ".join(HEADER) + " |", "|---|---|---|---|"]
    for row in _rows(variables):
        lines.append("| " + " | ".join([f"`{row[0]}`", f"`{row[1]}`", f"`{row[2]}`" if row[2] else "",
                                        row[3].replace("|", "\\|")]) + " |")  # fmt: skip
    return "\n".join(lines + ["", FOOTNOTE, ""])


def variables_json(name: str, variables: list[VariableDoc]) -> str:
    data = {"spec": name, "variables": [{"name": v.name, "default": v.default, "value": v.value, "meaning": v.meaning,
                                         "derived": v.derived, "line": v.line} for v in variables]}  # fmt: skip
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def render_variables(name: str, variables: list[VariableDoc], fmt: str, width: int | None = None) -> str:
    return dispatch(fmt, (name, variables), {"table": lambda item: variables_table(*item, width=width),
                                             "markdown": lambda item: variables_markdown(*item),
                                             "json": lambda item: variables_json(*item)})  # fmt: skip
