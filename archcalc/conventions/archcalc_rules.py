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
