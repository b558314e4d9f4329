"""clamp_buffers: min(max(x, low), high) with bounds that are scalar buffers of the model, not numbers.

Gemma 4's vision encoder (timm 1.0.31 models/gemma4_vit.py, Gemma4ClippableLinear) clamps the input and the
output of every projection with 0-dim buffers, `torch.clamp(x, self.input_min, self.input_max)`: ±inf when
built, finite values from the checkpoint. The values decide nothing about the counts, so the spec holds none;
the layer holds the two buffers, as the model does.

    {type: clamp_buffers}          torch.clamp(x, low, high), low and high 0-dim buffers

    params       0; buffers 2 (the two bounds)
    MACs         0
    flops        2 * out (one comparison per bound, as clamp with both bounds)
    connections  0 (part of the unit it clamps)

Receptive field: position-wise (identity). Peers: fvcore ignores aten::clamp, FlopCounterMode has no formula
for it, ptflops, thop and torchinfo hook no such module: 0 for each.

Imported from torch.clamp / torch.clip and their Tensor methods when both bounds are 0-dim buffers; a bound
that is a parameter, a buffer of more elements or an activation is refused, saying which.
"""

from __future__ import annotations

from typing import Any

from archcalc.layers.activation import _Pointwise
from archcalc.layers.base import Attrs, Params, Shape, register
from archcalc.layers.formula import Const
from archcalc.layers.imports import CannotMap, ImportRule
from archcalc.layers.pointwise_math import floating

BOUNDS = 2


@register
class ClampBuffers(_Pointwise):
    name = "clamp_buffers"
    summary = "min(max(x, low), high) with two 0-dim buffers as the bounds (Gemma 4's clippable linears)"
    per_element = BOUNDS
    flops_rule = "2 * out: one comparison per bound"
    # No `calls`: the built layer is a module holding the two buffers (an invoked function would hide them).

    def params(self, a: Attrs, ins: list[Shape], out: Shape) -> Params:
        return Params(buffers=BOUNDS)

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc.layers.base import elements
        from archcalc.layers.formula import counts

        return counts(buffers=Const(BOUNDS), flops=Const(BOUNDS) * elements(out),
                      notes={"FLOPs": "one comparison per element for each bound",
                             "buffers": "the two bounds, 0-dim buffers", "connections": "part of the unit it clamps"})

    def torch_module(self, a: Attrs, ins: list[Shape]) -> Any:
        from archcalc import torch_pointwise as tp

        return tp.BufferClamp()

    def torch_import(self) -> tuple:
        import torch

        T = torch.Tensor
        functions = (torch.clamp, torch.clip, torch.clamp_, torch.clip_, T.clamp, T.clip, T.clamp_, T.clip_)

        def read(call: Any) -> dict:
            bound = call.bind("input", "min", "max", min=None, max=None)
            floating(call)
            for which in ("min", "max"):
                value = bound[which]
                if not isinstance(value, torch.Tensor) or value.numel() != 1:
                    raise CannotMap(f"its {which} bound is {'missing' if value is None else 'not a scalar tensor'}")
                if not any(value is w for w in call.weights) or not call.buffer_parts.get(id(value)):
                    raise CannotMap(f"its {which} bound is not a buffer of the model")
            return {}

        from archcalc import torch_pointwise as tp

        return (ImportRule(self.name, functions=functions, read=read, weight_operands=True,
                           when=lambda call: len(call.in_shapes) == 1 and len(call.weights) == 2,
                           note="both bounds 0-dim buffers"),
                ImportRule(self.name, modules=(tp.BufferClamp,)))
