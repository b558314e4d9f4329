"""Rendering a CheckReport: a terminal table of per-layer verdicts with both numbers, or JSON.

Cells show the agreed value when archcalc and torch agree, `archcalc ≠ torch` when they differ,
`-` where the quantity does not apply, `skip` where it was not checked, `n/c` where the witness does
not count the layer and `(N)` where it counts it under its own convention (shown, not compared).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict

from archcalc.check.results import (
    AGREE, BUFFERS, DIFFER, FLOP_COUNTER, FVCORE, NON_TRAINABLE, NOT_CHECKED, NOT_COUNTED, OWN_CONVENTION,
    PARAMS, RECEPTIVE_FIELD, SHAPE, TORCH_RUNS, TRAINABLE, WITNESSES, CheckReport, LayerCheck, Verdict,
)  # fmt: skip
from archcalc.errors import ArchcalcError
from archcalc.render.units import shape_text

FORMATS = ("table", "json")
LABELS = {PARAMS: "params", TRAINABLE: "trainable params", NON_TRAINABLE: "non-trainable params",
          BUFFERS: "buffers", FVCORE: "MACs vs fvcore", FLOP_COUNTER: "2 x MACs vs FlopCounterMode"}  # fmt: skip


def render_check(report: CheckReport, fmt: str = "table", width: int | None = None, color: bool = False) -> str:
    if fmt == "json":
        return json.dumps(check_dict(report), indent=2) + "\n"
    if fmt == "table":
        return _table(report, width, color)
    raise ArchcalcError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")


def check_dict(report: CheckReport) -> dict:
    data = asdict(report)
    for layer, checked in zip(data["layers"], report.layers):
        layer["agrees"] = checked.agrees
    data["agrees"] = report.agrees
    data["differing"] = [layer.name for layer in report.differing]
    data["not_counted"] = {quantity: report.uncounted(quantity) for quantity in (FVCORE, FLOP_COUNTER)}
    data["witnesses"] = dict(WITNESSES)
    return data


def _value(quantity: str, value) -> str:
    if value is None:
        return "?"
    if quantity == SHAPE:
        return shape_text(value) or "[]"
    if quantity == RECEPTIVE_FIELD:
        return "outside the input" if not value else "x".join(f"{lo}..{hi}" for lo, hi in value)
    return f"{value:,}" if isinstance(value, int) else str(value)


def _cell(verdict: Verdict | None) -> str:
    if verdict is None:
        return "-"
    if verdict.status == DIFFER:
        return f"{_value(verdict.quantity, verdict.archcalc)} ≠ {_value(verdict.quantity, verdict.torch)}"
    if verdict.status == NOT_CHECKED:
        return "skip"
    if verdict.status == NOT_COUNTED:
        return "n/c"
    if verdict.status == OWN_CONVENTION:
        return f"({_value(verdict.quantity, verdict.torch)})"
    if verdict.quantity == RECEPTIVE_FIELD and verdict.archcalc:
        return "x".join(str(hi - lo + 1) for lo, hi in verdict.archcalc)
    return _value(verdict.quantity, verdict.archcalc)


def _params_cell(layer: LayerCheck) -> str:
    parts = [layer.verdict(q) for q in (TRAINABLE, NON_TRAINABLE, BUFFERS)]
    if any(v is None for v in parts):
        return "-"
    differing = [v for v in parts if v.differs]  # type: ignore[union-attr]
    if differing:
        return "; ".join(f"{LABELS[v.quantity].split()[0]} {_cell(v)}" for v in differing)
    trainable, non_trainable, buffers = (v.archcalc for v in parts)  # type: ignore[union-attr]
    text = f"{trainable + non_trainable:,}"
    if non_trainable:
        text += f" ({non_trainable:,} fixed)"
    return text + (f" +{buffers:,} buf" if buffers else "")


def _table(report: CheckReport, width: int | None, color: bool) -> str:
    """Fits `width` by leaving out columns (type, output, ...), never one that holds a difference."""
    from archcalc.render.columns import Column, console_text, fit_columns, left_out_line, rich_table

    verdicts, cells = [], {key: [] for key in ("layer", "type", "output", "params", "fvcore", "flops", "rf")}
    for layer in report.layers:
        failed = layer.verdict(TORCH_RUNS)
        checked = any(v.status == AGREE for v in layer.verdicts)
        verdict = "DIFFER" if not layer.agrees else "agree" if checked else "skip"
        verdicts.append(verdict + (f": {failed.note}" if failed is not None else ""))
        for key, text in (("layer", layer.name), ("type", layer.type), ("output", _cell(layer.verdict(SHAPE))),
                          ("params", _params_cell(layer)), ("fvcore", _cell(layer.verdict(FVCORE))),
                          ("flops", _cell(layer.verdict(FLOP_COUNTER))),
                          ("rf", _cell(layer.verdict(RECEPTIVE_FIELD)))):  # fmt: skip
            cells[key].append(text)

    def drop(key: str, order: int) -> int:
        return 0 if any("≠" in text for text in cells[key]) else order  # a difference is never hidden

    columns = [
        Column("layer", cells["layer"], justify="left", shrink_to=16),
        Column("type", cells["type"], justify="left", drop=drop("type", 6), shrink_to=10),
        Column("output", cells["output"], justify="left", drop=drop("output", 5)),
        Column("params", cells["params"], drop=drop("params", 1)),
        Column("MACs = fvcore", cells["fvcore"], drop=drop("fvcore", 3)),
        Column("2 x MACs x batch = FlopCounterMode", cells["flops"], drop=drop("flops", 4)),
        Column("RF = autograd", cells["rf"], drop=drop("rf", 2)),
        Column("verdict", verdicts, justify="left", shrink_to=12),
    ]
    shown, left_out = fit_columns(columns, width)
    styles = [None if layer.agrees else "red" for layer in report.layers] if color else None
    title = f"check {report.name}  (input {shape_text(report.input_shape)}, {report.device}, batch {report.batch})"
    out: list = [rich_table(shown, title=title, row_styles=styles)]
    line = left_out_line(left_out, width)
    out += ([line] if line else []) + _summary(report)
    return console_text(out, width, color)


def _summary(report: CheckReport) -> list[str]:
    lines = ["totals:"]
    for verdict in report.totals:
        status = "agree" if verdict.status == AGREE else "DIFFER"
        numbers = _value(verdict.quantity, verdict.archcalc) if verdict.status == AGREE else _cell(verdict)
        lines.append(f"  {LABELS[verdict.quantity]}: {numbers}  {status}" + (f" ({verdict.note})" if verdict.note else ""))
    types = {layer.name: layer.type for layer in report.layers}
    for quantity, witness in ((FVCORE, "fvcore"), (FLOP_COUNTER, "FlopCounterMode")):
        skipped = report.uncounted(quantity)
        if skipped:
            kinds = Counter(types[name] for name in skipped)
            listed = ", ".join(f"{kind} x{count}" if count > 1 else kind for kind, count in kinds.items())
            lines.append(f"not compared with {witness} (it does not count them, or counts them its own way): {listed}")
    lines += [f"note: {note}" for note in report.notes]
    skipped_rf = sum(1 for layer in report.layers if (v := layer.verdict(RECEPTIVE_FIELD)) and v.status == NOT_CHECKED)
    if skipped_rf:
        lines.append(f"note: {skipped_rf} receptive fields were not probed (skip); --rf-budget or --rf-all probe more")
    if report.agrees:
        lines.append(f"every layer agrees ({len(report.layers)} layers)")
        return lines
    differing = [layer.name for layer in report.differing]
    if differing:
        lines.append(f"{len(differing)} of {len(report.layers)} layers differ: {', '.join(differing)}")
    totals = [LABELS[v.quantity] for v in report.totals if v.differs]
    if totals:
        lines.append(f"totals differ: {', '.join(totals)}")
    return lines
