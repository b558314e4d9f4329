"""torch's FlopCounterMode (torch 2.13.0, `torch/utils/flop_counter.py`):
`with FlopCounterMode() as counter: model(x)`, then `counter.get_total_flops()`.

A TorchDispatchMode that counts only the aten ops in its `flop_registry`: mm, addmm, bmm, baddbmm,
_scaled_mm, the convolutions of every rank (and their backward) and the attention kernels. Each counts
2 FLOPs per multiply-add ("Should be 2 * k - 1 technically"), biases excluded. nn.Linear reaches it as
addmm (or mm / bmm), a conv as aten.convolution (a transposed conv over its input positions, which is
archcalc's MACs). Everything else (norms, activations, pools, adds) counts 0.

So the whole profile is its default: 2 x archcalc's MACs for the layer types whose MACs are exactly
those products (`dense_macs`), 0 for every other; only the unknown `unsupported` is in the table.
"""

from __future__ import annotations

from archcalc.conventions.base import UNKNOWN, Profile, Rule, zero
from archcalc.layers import LayerType

_TWICE_MACS = Rule(lambda v: 2 * v.macs, "2 x MACs, no bias")
_NOT_REGISTERED = zero("no flop formula for its aten ops")
_DATA = zero("data movement")


def default(layer: LayerType) -> Rule:
    if layer.dense_macs:
        return _TWICE_MACS
    return _DATA if layer.data_movement else _NOT_REGISTERED


PROFILE = Profile(
    name="torch",
    tool="torch 2.13.0",
    headline="torch.utils.flop_counter.FlopCounterMode().get_total_flops()",
    unit="FLOPs, two per multiply-add",
    table=UNKNOWN,
    default=default,
)
