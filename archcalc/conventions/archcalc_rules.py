"""archcalc's own convention: its MACs (multiply-accumulates of conv, transposed conv, linear, the
recurrent layers' gate products and other matmul-like layers), the number papers call "FLOPs" or
"multi-adds" and torchvision publishes as GFLOPS. archcalc's FLOPs (every operation counted) stay in `totals.flops`.

The rule of every layer type is its registry entry's `macs` (archcalc/layers/): the profile is all
default, derived from the entry's category.
"""

from __future__ import annotations

from archcalc.conventions.base import Profile, Rule
from archcalc.layers import LayerType

_MACS = Rule(lambda v: v.macs, "archcalc's MACs")
_NONE = Rule(lambda v: v.macs, "archcalc's MACs: 0 (not matmul-like)")


def default(layer: LayerType) -> Rule:
    return _MACS if layer.category in ("conv", "linear", "recurrent") else _NONE


PROFILE = Profile(
    name="archcalc",
    tool="archcalc",
    headline="totals.macs",
    unit="MACs",
    table={},
    default=default,
)
