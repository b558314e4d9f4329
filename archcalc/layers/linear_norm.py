"""LeViT's LinearNorm (timm/models/levit.py, 1.0.31): a linear layer without bias, then BatchNorm1d over its
outputs, run on the tokens of the whole batch at once (`self.bn(x.flatten(0, 1)).reshape_as(x)`), so the batch
norm sees [B·L, E_out] rows. At inference its running statistics fold into one scale and shift per feature.

linear_norm on [L, n_in] tokens -> [L, n_out]
    params       n_in n_out (+ n_out with `bias`) + 2 n_out (the norm's weight and bias);
                 buffers 2 n_out + 1 (running mean, variance, num_batches_tracked)
    macs         L n_in n_out                              (the linear's)
    flops        L n_out (2 n_in - 1 + b) + 2 L n_out       (the linear's, then x * scale + shift)
    connections  L n_out (n_in + b) + 2 L n_out
    RF           none (mixes every feature)
Training: the linear's backward (weights_backward) plus about the norm's forward.
"""

from __future__ import annotations

from archcalc.errors import ArchcalcError
from archcalc.layers.attrs import Attr, Bool, Float, Int
from archcalc.layers.base import Attrs, Params, Shape, numel, register, weights_backward
from archcalc.layers.formula import Term, counts
from archcalc.layers.imports import CannotMap, ImportRule
from archcalc.layers.linear import Linear


@register
class LinearNorm(Linear):
    name = "linear_norm"
    summary = "linear then batch norm over the features of every token (LeViT's LinearNorm), on [L, E] tokens"
    attrs = (
        Attr("out_features", Int(), doc="output units", aliases=("out",)),
        Attr("bias", Bool(), False, "the linear's bias (LeViT: none)"),
        Attr("in_features", Int(), None, "optional check of the input size"),
        Attr("eps", Float(0.0), 1e-5, "the batch norm's epsilon"),
    )
    flops_rule = "L * n_out * (2 n_in - 1 + bias) + 2 L n_out"
    connections_rule = "L * n_out * (n_in + bias) + 2 L n_out"

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        if len(ins[0]) != 2:
            raise ArchcalcError(f"{self.name} needs [L, E] tokens, got shape {list(ins[0])}")
        return super().shape(a, ins)

    def params(self, a: Attrs, ins: list[Shape], out: Shape) -> Params:
        n_out = a["out_features"]
        return Params(trainable=super().params(a, ins, out).trainable + 2 * n_out, buffers=2 * n_out + 1)

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return super().flops(a, ins, out) + 2 * numel(out)

    def connections(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return super().connections(a, ins, out) + 2 * numel(out)

    def norm_elements(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        """Elements the batch norm scales and shifts (per sample): L n_out."""
        return numel(out)

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape):
        linear = {f.name: f for f in super().explain_counts(a, ins, out)}
        n_out, rows = Term("n_out", a["out_features"]), Term("L", ins[0][0])
        return counts(params=linear["params"].expr + 2 * n_out, buffers=2 * n_out + 1, macs=linear["MACs"].expr,
                      flops=linear["FLOPs"].expr + 2 * rows * n_out,
                      connections=linear["connections"].expr + 2 * rows * n_out,
                      notes={"FLOPs": "the linear's, then the norm's x · scale + shift per element"})  # fmt: skip

    def backward(self, a: Attrs, ins: list[Shape], out: Shape, input_grad: bool) -> tuple[int, int]:
        macs, flops = weights_backward(self.macs(a, ins, out), input_grad, numel(out) if a["bias"] else 0)
        return macs, flops + 2 * numel(out)

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc.torch_convs import LinearNorm as Module

        return Module(ins[0][-1], a["out_features"], a["bias"], a["eps"])

    def torch_import(self) -> tuple:
        from archcalc.torch_convs import LinearNorm as Module

        def read(call) -> dict:
            linear, bn = call.module.linear, call.module.bn
            if not (bn.affine and bn.track_running_stats) or bn.num_features != linear.out_features:
                raise CannotMap("its batch norm is not an affine one with running statistics over the linear's outputs")
            return {"out_features": linear.out_features, "in_features": linear.in_features,
                    "bias": linear.bias is not None, "eps": bn.eps}  # fmt: skip

        return (ImportRule(self.name, modules=(Module,), read=read),
                ImportRule(self.name, foreign=("timm.models.levit.LinearNorm",), read=read))
