"""L2 normalisation along one axis: F.normalize(x, p=2, dim) = x / max(||x||₂, eps) (SwiftFormer's and EdgeNeXt's
attention, timm 1.0.31; cosine similarity).

normalize on any shape
    shape        unchanged
    flops        groups * (3N - 1), N = the axis' size: N squares, N - 1 adds, N divides per group (the square
                 root and the clamp to eps, once per group, are not counted, as for the norms)
    connections  0: it rescales its input; params 0
    RF           position-wise over the channels (axis 0); over another axis it mixes those positions (None)
"""

from __future__ import annotations

from archcalc.layers.attrs import Attr, Float, Int
from archcalc.layers.base import IDENTITY, Attrs, LayerType, Shape, numel, register, same_shape
from archcalc.layers.formula import Term, counts
from archcalc.layers.imports import CannotMap, ImportRule
from archcalc.layers.one_axis import AlongOneAxis


@register
class Normalize(AlongOneAxis, LayerType):
    name = "normalize"
    summary = "L2 normalisation along one axis (F.normalize): x / max(‖x‖₂, eps)"
    category = "norm"
    attrs = (Attr("axis", Int(None), 0, "axis of the sample, not counting the batch"),
             Attr("eps", Float(0.0), 1e-12, "the smallest norm divided by (changes no count)"))
    flops_rule = "groups * (3N - 1), N = size of the axis"

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape):
        return same_shape(ins[0])

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape):
        size = out[self.reduction_axis(a, out)]
        n, groups = Term("N", size), Term("groups", numel(out) // size)
        return counts(flops=groups * (3 * n - 1), notes={"FLOPs": "per group of N: N squares + (N − 1) adds + N "
                                                                  "divides"})  # fmt: skip

    def receptive_field(self, a: Attrs, ins: list[Shape], out: Shape):
        return IDENTITY if len(out) < 2 or self.reduction_axis(a, out) == 0 else None

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc.torch_convs import Normalize as Module

        return Module(self.reduction_axis(a, ins[0]) + 1, a["eps"])

    def torch_import(self) -> tuple:
        import torch.nn.functional as F

        from archcalc.torch_convs import Normalize as Module

        def function(call) -> dict:
            b = call.bind("input", "p", "dim", "eps", "out", p=2.0, dim=1, eps=1e-12, out=None)
            if b["p"] != 2 or b["out"] is not None:
                raise CannotMap(f"normalises with p={b['p']}" if b["p"] != 2 else "writes into `out`")
            return {"axis": call.axis(b["dim"]), "eps": b["eps"]}

        return (ImportRule(self.name, modules=(Module,), read=lambda call: {"axis": call.module.dim - 1,
                                                                            "eps": call.module.eps}),
                ImportRule(self.name, functions=(F.normalize,), read=function, note="p = 2"))  # fmt: skip
