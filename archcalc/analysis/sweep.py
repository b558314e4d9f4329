"""Sweeps (`archcalc sweep`): the totals of a spec for every combination of variable values.

`--set width=0.25,0.5 --set resolution=128,224` gives the cartesian product, in the order given
(the last variable changes fastest). Values are YAML like `--set` values; commas inside brackets
belong to a list value (`--set widths=[1,2],[2,4]`).
"""

from __future__ import annotations

import gc
import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from archcalc.analysis import analyse
from archcalc.analysis.compare import final_receptive_field
from archcalc.analysis.results import Report
from archcalc.errors import ArchcalcError
from archcalc.limits import DEFAULT_LIMITS, Limits
from archcalc.progress import Progress, silent

if TYPE_CHECKING:
    from archcalc.graph_source import GraphSource

MAX_COMBINATIONS = 10_000
COLLECT_EVERY = 25
TOTALS = ("params", "macs", "flops", "connections", "activations", "param_bytes", "activation_bytes",
          "peak_activation_bytes")  # fmt: skip
# A decoder's LLM figures (analysis/llm.py), when every point is one: `--set seq_len=...` shows the prefill's
# quadratic attention terms against its linear ones, the decoding step and the KV cache.
LLM_TOTALS = ("prefill_quadratic_flops", "prefill_linear_flops", "decode_flops", "kv_cache_bytes",
              "training_flops_per_token")  # fmt: skip


def llm_totals(report: Report) -> dict:
    llm = report.llm
    if llm is None:
        return {}
    per_token = llm.training_flops_per_token
    return {"prefill_quadratic_flops": llm.prefill_quadratic_flops,
            "prefill_linear_flops": llm.prefill_flops - llm.prefill_quadratic_flops, "decode_flops": llm.decode_flops,
            "kv_cache_bytes": llm.kv_cache_bytes,
            "training_flops_per_token": per_token.numerator if per_token.denominator == 1 else float(per_token)}


@dataclass
class SweepPoint:
    """One combination: its values and the totals of its report (the report itself is not kept: a
    sweep of 10,000 combinations of a 500-layer network would hold gigabytes)."""

    values: dict[str, Any]
    totals: dict[str, Any]

    @classmethod
    def of(cls, values: dict[str, Any], report: Report) -> "SweepPoint":
        totals = {key: getattr(report.totals, key) for key in TOTALS}
        return cls(values, {**totals, "depth": report.depth, "receptive_field": final_receptive_field(report),
                            **llm_totals(report)})  # fmt: skip

    def row(self) -> dict:
        """Variables, totals, depth and final receptive field of this point, as plain data."""
        return {"values": self.values, **self.totals}


@dataclass
class Sweep:
    name: str
    variables: list[str]
    points: list[SweepPoint]

    @property
    def metrics(self) -> tuple[str, ...]:
        """The count columns: the totals, and the LLM figures when every point is a decoder."""
        llm = bool(self.points) and all(LLM_TOTALS[0] in point.totals for point in self.points)
        return TOTALS + (LLM_TOTALS if llm else ())

    def to_frame(self):
        """A pandas DataFrame, one row per combination (archcalc/notebook.py)."""
        from archcalc.notebook import sweep_frame

        return sweep_frame(self)


def _split_top_level(text: str) -> list[str]:
    """Split at commas outside brackets: '[1,2],[3,4]' -> ['[1,2]', '[3,4]']."""
    pieces, depth, current = [], 0, ""
    for char in text:
        depth += {"[": 1, "]": -1}.get(char, 0)
        if char == "," and depth == 0:
            pieces.append(current)
            current = ""
        else:
            current += char
    return pieces + [current]


def parse_sweep_sets(pairs: list[str] | None, limits: Limits = DEFAULT_LIMITS) -> dict[str, list[Any]]:
    """`name=v1,v2,...` pairs -> {name: [values]}, each value read as `--set` reads it."""
    from archcalc.spec import parse_overrides, split_assignment

    if not pairs:
        raise ArchcalcError("sweep needs at least one --set name=value1,value2,...")
    grid: dict[str, list[Any]] = {}
    for pair in pairs:
        name, text = split_assignment(pair, "name=value1,value2,...")
        if name in grid:
            raise ArchcalcError(f"--set {name} is given twice; list all its values in one --set")
        pieces = _split_top_level(text)
        if any(not piece.strip() for piece in pieces):
            raise ArchcalcError(f"--set {name}: empty value in {text!r} (values are separated by single commas)")
        values = [parse_overrides([f"{name}={piece}"], limits)[name] for piece in pieces]
        repeated = next((v for i, v in enumerate(values) if v in values[:i]), None)
        if repeated is not None:
            raise ArchcalcError(f"--set {name}: value {repeated!r} is listed twice")
        grid[name] = values
    count = 1
    for values in grid.values():
        count *= len(values)
    if count > MAX_COMBINATIONS:
        raise ArchcalcError(f"the sweep has {count:,} combinations; at most {MAX_COMBINATIONS:,} are allowed")
    return grid


def run_sweep(source: "GraphSource | str", grid: dict[str, list[Any]], batch: int = 1,
              dtype: str = "float32", progress: Progress = silent) -> Sweep:  # fmt: skip
    """Analyse the spec at every combination; the spec file is read once, and only each point's totals
    are kept."""
    from archcalc.graph_source import GraphSource

    if not isinstance(source, GraphSource):
        source = GraphSource(spec=source)
    if source.spec is None:
        raise ArchcalcError("sweep varies spec variables; a --module model has none")
    names = list(grid)
    points, title = [], str(source.spec)
    document = source.document()  # read once: only the variables change
    total = 1
    for values in grid.values():
        total *= len(values)
    for done, combination in enumerate(itertools.product(*(grid[name] for name in names))):
        progress("sweep", done, total)
        values = dict(zip(names, combination))
        try:
            report = analyse(source.with_overrides(values).build(document), batch=batch, dtype=dtype)
        except ArchcalcError as exc:
            where = ", ".join(f"{k}={v}" for k, v in values.items())
            raise ArchcalcError(f"with {where}: {exc.message}", file=exc.file, line=exc.line, path=exc.path) from None
        title = report.name
        points.append(SweepPoint.of(values, report))
        del report
        if len(points) % COLLECT_EVERY == 0:
            gc.collect()  # the CLI runs with the cyclic collector off; each expansion leaves cycles (scopes)
    progress("sweep", total, total)
    return Sweep(title, names, points)
