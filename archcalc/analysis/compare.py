"""Comparing specs side by side (`archcalc compare`): totals, exact ratios to the first spec, and
per-stage subtotals aligned by stage name.

Each spec argument may carry its own variables after colons, `examples/single_conv:k=7:C=32`;
a global `--set name=value` applies to every spec that declares `name` (a spec's own value wins).
Ratios are exact fractions (`13/36`): the seeds' comparisons come out exactly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from archcalc.analysis import analyse
from archcalc.analysis.results import Report
from archcalc.analysis.stages import Stage, stages
from archcalc.units import pair_text
from archcalc.errors import ArchcalcError

if TYPE_CHECKING:
    from archcalc.graph_source import SourceOptions

# (key, label): the totals compared, in display order.
METRICS = (
    ("params", "params"), ("macs", "MACs"), ("flops", "FLOPs"), ("connections", "connections"),
    ("activations", "activations"), ("param_bytes", "param memory (B)"),
    ("activation_bytes", "activation memory (B)"), ("peak_activation_bytes", "peak inference memory (B)"),
    ("receptive_field", "final receptive field"), ("depth", "depth"),
)  # fmt: skip
_ASSIGNMENT = re.compile(r":(?=[A-Za-z_]\w*=)")


@dataclass
class Compared:
    label: str
    spec: str
    overrides: dict[str, Any]
    report: Report


@dataclass
class MetricRow:
    key: str
    label: str
    values: list[int | None]  # None: not defined (no receptive field)
    ratios: list[Fraction | None]  # to the first spec; None for the first and where undefined
    text: list[str] = field(default_factory=list)  # how a value reads when it is not a plain count (7x9)


@dataclass
class StageRow:
    name: str
    stages: list[Stage | None]  # one per spec; None where the spec has no such stage


@dataclass
class Comparison:
    entries: list[Compared]
    rows: list[MetricRow]
    stage_rows: list[StageRow] | None = None

    def to_frame(self):
        """A pandas DataFrame, one row per compared spec with its ratios (archcalc/notebook.py)."""
        from archcalc.notebook import compare_frame

        return compare_frame(self)


def split_spec_argument(text: str) -> tuple[str, list[str]]:
    """'examples/single_conv:k=7:C=32' -> ('examples/single_conv', ['k=7', 'C=32'])."""
    parts = _ASSIGNMENT.split(text)
    spec, assignments = parts[0], parts[1:]
    if not spec:
        raise ArchcalcError(f"compare: {text!r} names no spec before its variables")
    return spec, assignments


def final_receptive_field(report: Report) -> list[int] | None:
    return next((layer.receptive_field for layer in reversed(report.layers) if layer.receptive_field), None)


def _value(report: Report, key: str) -> int | None:
    if key == "depth":
        return report.depth
    if key == "receptive_field":
        field_ = final_receptive_field(report)
        return field_[0] if field_ else None
    return getattr(report.totals, key)


def _ratio(value: int | None, first: int | None) -> Fraction | None:
    if value is None or not first:
        return None
    return Fraction(value, first)


def compare_reports(entries: list[Compared], by_stage: bool = False) -> Comparison:
    rows = []
    for key, label in METRICS:
        values = [_value(entry.report, key) for entry in entries]
        text = []
        if key == "receptive_field":
            fields = [final_receptive_field(entry.report) for entry in entries]
            text = [pair_text(f) for f in fields]  # one number per spatial axis, or one when they agree
        ratios = [None] + [_ratio(value, values[0]) for value in values[1:]]
        rows.append(MetricRow(key, label, values, ratios, text))
    stage_rows = None
    if by_stage:
        per_spec = [{stage.name: stage for stage in stages(entry.report)} for entry in entries]
        names = list(dict.fromkeys(name for table in per_spec for name in table))
        stage_rows = [StageRow(name, [table.get(name) for table in per_spec]) for name in names]
    return Comparison(entries, rows, stage_rows)


def load_entries(arguments: list[str], options: "SourceOptions", batch: int = 1,
                 dtype: str = "float32") -> list[Compared]:  # fmt: skip
    """Load and analyse each spec argument (and the --module model, last) with its own variables and
    the options' ones that the spec declares."""
    from archcalc.spec import parse_overrides

    if not arguments and options.module is None:
        raise ArchcalcError("compare needs at least one spec (or --module)")
    entries, used = [], set()
    for argument in arguments:
        spec, assignments = split_spec_argument(argument)
        own = parse_overrides(assignments, options.limits)
        declared = set(options.source(spec, {}).variables())
        overrides = {name: value for name, value in options.overrides.items() if name in declared}
        used |= set(overrides)
        overrides.update(own)
        graph = options.source(spec, overrides).load().graph
        label = graph.name + (" (" + ", ".join(f"{k}={v}" for k, v in own.items()) + ")" if own else "")
        entries.append(Compared(label, spec, overrides, analyse(graph, batch=batch, dtype=dtype)))
    if options.module is not None:
        graph = options.source(None, {}).load().graph
        entries.append(Compared(graph.name, options.module, {}, analyse(graph, batch=batch, dtype=dtype)))
    unused = [name for name in options.overrides if name not in used]
    if unused:
        raise ArchcalcError(f"--set {unused[0]}: none of the compared specs has a variable {unused[0]!r}")
    labels = [entry.label for entry in entries]
    for index, entry in enumerate(entries):
        if labels.count(entry.label) > 1:
            entry.label += f" #{labels[: index + 1].count(entry.label)}"
    return entries
