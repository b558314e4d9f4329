"""Rendering a CheckReport: a terminal table of per-layer verdicts with both numbers, or JSON.

Cells show the agreed value when archcalc and torch agree, `archcalc ≠ torch` when they differ,
`-` where the quantity does not apply, `skip` where it was not checked, `n/c` where the witness does
not count the layer and `(N)` where it counts it under its own convention (shown, not compared).
"""

from __future__ import annotations

import io
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
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"check {report.name}  (input {shape_text(report.input_shape)}, {report.device}, "
                        f"batch {report.batch})", title_justify="left")  # fmt: skip
    for title, justify in (("layer", "left"), ("type", "left"), ("output", "left"), ("params", "right"),
                           ("MACs = fvcore", "right"), ("2 x MACs x batch = FlopCounterMode", "right"),
                           ("RF = autograd", "right"), ("verdict", "left")):  # fmt: skip
        table.add_column(title, justify=justify, no_wrap=title != "params")  # type: ignore[arg-type]
    for layer in report.layers:
        failed = layer.verdict(TORCH_RUNS)
        checked = any(v.status == AGREE for v in layer.verdicts)
        verdict = "DIFFER" if not layer.agrees else "agree" if checked else "skip"
        if failed is not None:
            verdict += f": {failed.note}"
        row = [layer.name, layer.type, _cell(layer.verdict(SHAPE)), _params_cell(layer),
               _cell(layer.verdict(FVCORE)), _cell(layer.verdict(FLOP_COUNTER)), _cell(layer.verdict(RECEPTIVE_FIELD)),
               verdict]  # fmt: skip
        table.add_row(*row, style=None if layer.agrees or not color else "red")
    buffer = io.StringIO()
    console = Console(file=buffer, width=width or 160, force_terminal=color, color_system="auto" if color else None,
                      highlight=False)  # fmt: skip
    console.print(table)
    for line in _summary(report):
        console.print(line, soft_wrap=True)
    return buffer.getvalue()


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
