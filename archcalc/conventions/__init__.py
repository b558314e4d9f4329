"""Convention profiles: what fvcore, ptflops, thop, torchinfo and torch's FlopCounterMode would report
for a spec, reproduced to the unit from each tool's counting rules, and why they differ.

    from archcalc.conventions import count_convention
    result = count_convention(graph, report, "fvcore")    # report = analyse(graph)
    result.total                                            # FlopCountAnalysis(model, x).total()
    result.items                                            # {"macs": ..., "norm": ..., "pool": ...}

Each profile (one module per tool, `*_rules.py`) is a table keyed by archcalc layer type; this module
walks the graph once and sums. Torch-free: it only evaluates formulas. See docs/conventions.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from archcalc.conventions import (
    archcalc_rules,
    fvcore_rules,
    ptflops_rules,
    thop_rules,
    torch_rules,
    torchinfo_rules,
)
from archcalc.conventions.base import ITEM_LABELS, ITEMS, LayerView, Profile
from archcalc.errors import ArchcalcError, closest
from archcalc.graph import INPUT

PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (archcalc_rules.PROFILE, fvcore_rules.PROFILE, ptflops_rules.PROFILE, thop_rules.PROFILE,
              torchinfo_rules.PROFILE, torch_rules.PROFILE)
}  # fmt: skip
CONVENTIONS = tuple(PROFILES)
DEFAULT_CONVENTION = "archcalc"


@dataclass
class ConventionResult:
    """One convention applied to a report: the headline total, its breakdown and per-layer counts."""

    convention: str
    tool: str
    headline: str
    unit: str
    total: int
    items: dict[str, int]  # every breakdown item (ITEMS), in order
    layers: list[int]  # per layer, in the report's layer order
    layer_items: list[dict[str, int]] = field(default_factory=list)  # per layer, the nonzero items


def profile(name: str) -> Profile:
    if name not in PROFILES:
        raise ArchcalcError(
            f"unknown convention {name!r}{closest(name, CONVENTIONS)}; choose from {', '.join(CONVENTIONS)}"
        )
    return PROFILES[name]


def count_convention(graph, report, name: str) -> ConventionResult:
    """Apply one convention to every layer of `report` (the analysis of `graph`, same batch)."""
    chosen = profile(name)
    shapes = {INPUT: tuple(graph.input_shape)}
    items = dict.fromkeys(ITEMS, 0)
    per_layer: list[int] = []
    per_layer_items: list[dict[str, int]] = []
    for node, layer in zip(graph.nodes, report.layers):
        out = tuple(layer.output_shape)
        shapes[node.name] = out
        ins = [shapes[name] for name in node.inputs]
        if node.over:  # applied over leading axes (layers/over.py): the tools see the type on a batch of B·copies
            copies, ins, out = node.rule.slices(ins, out)
            view = LayerView(node.rule.inner, node.attrs, ins, out, report.batch * copies, layer.macs)
        else:
            view = LayerView(node.rule, node.attrs, ins, out, report.batch, layer.macs)
        try:
            counted = chosen.layer_count(node.type, view, node.rule.category, node.call)
        except ArchcalcError as exc:
            raise node.error(exc) from None
        for item, value in counted.items():
            items[item] += value
        per_layer.append(sum(counted.values()))
        per_layer_items.append(counted)
    return ConventionResult(chosen.name, chosen.tool, chosen.headline, chosen.unit, sum(items.values()), items,
                            per_layer, per_layer_items)  # fmt: skip


def count_all(graph, report) -> list[ConventionResult]:
    """Every convention, in CONVENTIONS order."""
    return [count_convention(graph, report, name) for name in CONVENTIONS]


__all__ = ["CONVENTIONS", "DEFAULT_CONVENTION", "ITEMS", "ITEM_LABELS", "PROFILES", "ConventionResult",
           "count_all", "count_convention", "profile"]
