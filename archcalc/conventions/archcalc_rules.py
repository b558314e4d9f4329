"""archcalc's own convention: its MACs (multiply-accumulates of conv, transposed conv, linear and
other matmul-like layers), the number papers call "FLOPs" or "multi-adds" and torchvision publishes
as GFLOPS. archcalc's FLOPs (every operation counted) stay in `totals.flops`.

The rule of every layer type is its registry entry's `macs` (archcalc/layers/), so this table is
derived from the registry rather than written out.
"""

from __future__ import annotations

from archcalc.conventions.base import Profile, Rule
from archcalc.layers import REGISTRY

_MACS = Rule(lambda v: v.macs, "archcalc's MACs")
_NONE = Rule(lambda v: v.macs, "archcalc's MACs: 0 (not matmul-like)")

RULES = {name: (_MACS if rule.category in ("conv", "linear") else _NONE) for name, rule in REGISTRY.items()}

PROFILE = Profile(
    name="archcalc",
    tool="archcalc",
    headline="totals.macs",
    unit="MACs",
    rules=RULES,
)


def from_report(report):
    """The archcalc convention straight from a report (no graph needed): every layer's MACs."""
    from archcalc.conventions import ConventionResult
    from archcalc.conventions.base import ITEMS

    items = dict.fromkeys(ITEMS, 0)
    items["macs"] = report.totals.macs
    layers = [layer.macs for layer in report.layers]
    # per-layer items are left out: the JSON report (the one caller) needs the counts only
    return ConventionResult(PROFILE.name, PROFILE.tool, PROFILE.headline, PROFILE.unit, report.totals.macs, items,
                            layers)  # fmt: skip
