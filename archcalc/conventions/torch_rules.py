"""torch's FlopCounterMode (torch 2.13.0, `torch/utils/flop_counter.py`):
`with FlopCounterMode() as counter: model(x)`, then `counter.get_total_flops()`.

A TorchDispatchMode that counts only the aten ops in its `flop_registry`: mm, addmm, bmm, baddbmm,
_scaled_mm, the convolutions (and their backward) and the attention kernels. Each counts 2 FLOPs
per multiply-add ("Should be 2 * k - 1 technically"), biases excluded. nn.Linear reaches it as addmm
(or mm / bmm), a conv as aten.convolution (a transposed conv over its input positions, which is
archcalc's MACs). Everything else (norms, activations, pools, adds) counts 0.
"""

from __future__ import annotations

from archcalc.conventions.base import DATA_MOVEMENT, UNKNOWN, Profile, Rule, same_for, zero

_TWICE_MACS = Rule(lambda v: 2 * v.macs, "2 x MACs, no bias")
_NOT_REGISTERED = "no flop formula for its aten ops"

RULES = {
    **UNKNOWN,
    "conv2d": _TWICE_MACS,
    "conv_transpose2d": _TWICE_MACS,
    "linear": _TWICE_MACS,
    "rbf": zero("sub, pow and sum: " + _NOT_REGISTERED),
    **same_for(("batchnorm", "layernorm", "instancenorm", "groupnorm", "lrn"), zero(_NOT_REGISTERED)),
    **same_for(("relu", "relu6", "sigmoid", "tanh", "hardsigmoid", "hardswish", "silu", "leaky_relu", "prelu",
                "elu", "gelu", "softmax"), zero(_NOT_REGISTERED)),
    **same_for(("max_pool2d", "avg_pool2d", "global_avg_pool", "global_max_pool", "adaptive_avg_pool2d",
                "adaptive_max_pool2d", "spp", "subsampling", "roi_pool"), zero(_NOT_REGISTERED)),
    **same_for(("add", "mul", "upsample"), zero(_NOT_REGISTERED)),
    **same_for(DATA_MOVEMENT, zero("data movement")),
}

PROFILE = Profile(
    name="torch",
    tool="torch 2.13.0",
    headline="torch.utils.flop_counter.FlopCounterMode().get_total_flops()",
    unit="FLOPs, two per multiply-add",
    rules=RULES,
)
