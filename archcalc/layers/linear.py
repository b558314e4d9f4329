"""Fully connected layers: linear, and LeNet-5's fixed RBF output layer.

Both act on the last axis, as torch's nn.Linear does (flatten first to connect a whole feature map).
L = elements of the input / n_in (1 for a flat vector); b = 1 with a bias.

linear
    params       (n_in + b) * n_out                           (the seeds' (n_in + 1) * n_out)
                 with `bias_buffer: z`, z of the bias elements are a buffer (fixed zeros: BEiT's
                 `F.linear(x, qkv.weight, torch.cat((q_bias, k_bias, v_bias)))`, k_bias a buffer): params
                 (n_in + 1) * n_out - z, buffers z; the counts below do not change
    macs         L * n_in * n_out
    flops        L * n_out * (n_in multiplies + (n_in - 1) adds + b) = L * n_out * (2 n_in - 1 + b)
    connections  L * n_out * (n_in + b)

rbf (LeCun et al. 1998, the output layer: y_j = sum_i (x_i - w_ij)^2, weights fixed, not trained)
    params       n_in * n_out non-trainable
    macs         L * n_in * n_out                             (one squared difference accumulated per link)
    flops        L * n_out * (3 n_in - 1)                     (subtract, square, and n_in - 1 adds)
    connections  L * n_in * n_out

Training: linear as conv (weight gradient = forward MACs, input gradient = forward MACs unless nothing
before it is trained; FLOPs 2 per MAC + the bias gradient); rbf's weights are fixed, so only the input
gradient, about the forward cost.
"""

from __future__ import annotations

from archcalc.errors import ArchcalcError
from archcalc.layers.attrs import Attr, Bool, Int
from archcalc.layers.base import (WEIGHTS_BACKWARD_RULE, Attrs, LayerType, Params, Shape, axis_names, numel, register,
                                  weights_backward)  # fmt: skip
from archcalc.layers.formula import Const, Expr, Formula, Group, Term, counts, plus_one_if
from archcalc.layers.imports import CannotMap, ImportRule


class _LastAxis(LayerType):
    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        n_in = ins[0][-1]
        if a.get("in_features") is not None and a["in_features"] != n_in:
            raise ArchcalcError(
                f"{self.name}: in_features is {a['in_features']} but the input has {n_in} features"
                f" (input shape {list(ins[0])}{'; add a flatten layer first?' if len(ins[0]) > 1 else ''})"
            )
        return ins[0][:-1] + (a["out_features"],)

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        names = axis_names(len(out))
        kept = [Formula(f"{name}_out", Term(name, size)) for name, size in zip(names[:-1], ins[0][:-1])]
        return kept + [Formula(f"{names[-1]}_out", Const(out[-1]), "out_features")]

    @staticmethod
    def _with_lead(expr: Expr, ins: list[Shape]) -> Expr:
        """× L when the layer runs at L positions (a linear layer on [C, H, W] acts along W)."""
        lead = numel(ins[0][:-1])
        return Term("L", lead) * expr if lead != 1 else expr

    def receptive_field(self, a: Attrs, ins: list[Shape], out: Shape) -> None:
        return None  # mixes every position of the last axis: no longer a local window

    @staticmethod
    def _lead(ins: list[Shape]) -> int:
        return numel(ins[0][:-1])


@register
class Linear(_LastAxis):
    name = "linear"
    dense_macs = True
    summary = "fully connected layer on the last axis"
    category = "linear"
    neurons = True
    attrs = (
        Attr("out_features", Int(), doc="output units", aliases=("out",)),
        Attr("bias", Bool(), True),
        Attr("in_features", Int(), None, "optional check of the input size"),
        Attr("bias_buffer", Int(0), 0, "bias elements held in a buffer, not trained (BEiT's zero key bias)"),
    )
    flops_rule = "L * n_out * (2 n_in - 1 + bias)"
    connections_rule = "L * n_out * (n_in + bias)"
    backward_rule = WEIGHTS_BACKWARD_RULE

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        fixed = a.get("bias_buffer", 0)  # linear_norm, a linear too, has no such attribute
        if fixed and (not a["bias"] or fixed > a["out_features"]):
            raise ArchcalcError(f"{self.name}: bias_buffer is {fixed} but the bias has "
                                f"{a['out_features'] if a['bias'] else 0} elements")  # fmt: skip
        return super().shape(a, ins)

    def params(self, a: Attrs, ins: list[Shape], out: Shape) -> Params:
        held = (ins[0][-1] + (1 if a["bias"] else 0)) * a["out_features"]
        fixed = a.get("bias_buffer", 0)
        return Params(trainable=held - fixed, buffers=fixed)

    def macs(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return self._lead(ins) * ins[0][-1] * a["out_features"]

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return self._lead(ins) * a["out_features"] * (2 * ins[0][-1] - 1 + (1 if a["bias"] else 0))

    def connections(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return self._lead(ins) * a["out_features"] * (ins[0][-1] + (1 if a["bias"] else 0))

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        n_in, n_out = Term("n_in", ins[0][-1]), Term("n_out", a["out_features"])
        per_output = Group(n_in + 1) if a["bias"] else n_in
        multiply_add = n_in + Group(n_in - 1)
        fixed = a.get("bias_buffer", 0)
        return counts(
            params=per_output * n_out - Term("z", fixed) if fixed else per_output * n_out,
            buffers=Term("z", fixed) if fixed else None,
            macs=self._with_lead(n_in * n_out, ins),
            flops=self._with_lead(Group(plus_one_if(multiply_add, a["bias"])) * n_out, ins),
            connections=self._with_lead(per_output * n_out, ins),
            notes={"FLOPs": "per output: n_in multiplies + (n_in − 1) adds" + (" + 1 bias add" if a["bias"] else ""),
                   **({"buffers": "z bias elements held in a buffer"} if fixed else {})},
        )

    def backward(self, a: Attrs, ins: list[Shape], out: Shape, input_grad: bool) -> tuple[int, int]:
        return weights_backward(self.macs(a, ins, out), input_grad, numel(out) if a["bias"] else 0)

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from torch import nn

        if a["bias_buffer"]:
            from archcalc import torch_modules as tm

            return tm.PartlyFixedBiasLinear(ins[0][-1], a["out_features"], a["bias_buffer"])
        return nn.Linear(ins[0][-1], a["out_features"], a["bias"])

    def torch_import(self) -> tuple:
        from torch import nn
        from torch.nn import functional as F

        def read(call) -> dict:
            m = call.module
            return {"out_features": m.out_features, "bias": m.bias is not None, "in_features": m.in_features}

        def function(call) -> dict:
            b = call.bind("input", "weight", "bias", bias=None)
            out_features, in_features = b["weight"].shape
            if call.buffer_parts.get(id(b["weight"])):
                raise CannotMap("the weight is a buffer, not a parameter")
            fixed = call.buffer_parts.get(id(b["bias"]), 0) if b["bias"] is not None else 0
            return {"out_features": out_features, "bias": b["bias"] is not None, "in_features": in_features,
                    "bias_buffer": fixed}

        def conv1d(call) -> dict:
            """transformers' Conv1D (GPT-2): a linear layer whose weight is stored transposed, always biased."""
            return {"out_features": call.module.nf, "in_features": call.module.nx, "bias": True}

        def by_weight(call) -> dict:
            """x @ W with W an [n_in, n_out] parameter (SwiftFormer's `query @ self.w_g`): a linear without bias."""
            weight = call.weights[0]
            if call.is_module or len(call.args) != 2 or call.args[1] is not weight or weight.dim() != 2:
                raise CannotMap("multiplies by a parameter that is not the right-hand [n_in, n_out] matrix")
            return {"out_features": weight.shape[1], "in_features": weight.shape[0], "bias": False}

        import operator

        import torch

        products = (operator.matmul, torch.matmul, torch.Tensor.matmul, torch.Tensor.__matmul__)
        def partly_fixed(call) -> dict:
            m = call.module
            return {"out_features": m.weight.shape[0], "in_features": m.weight.shape[1], "bias": True,
                    "bias_buffer": m.fixed_bias.numel()}

        from archcalc import torch_modules as tm

        return (ImportRule(self.name, modules=(nn.Linear,), read=read),
                ImportRule(self.name, modules=(tm.PartlyFixedBiasLinear,), read=partly_fixed),
                ImportRule(self.name, functions=(F.linear,), read=function, weight_operands=True,
                           note="weight and bias: the model's parameters"),
                ImportRule(self.name, functions=products, read=by_weight, weight_operands=True,
                           when=lambda call: len(call.in_shapes) == 1 and len(call.weights) == 1,
                           note="x @ an [n_in, n_out] parameter"),
                ImportRule(self.name, foreign=("transformers.pytorch_utils.Conv1D",), read=conv1d))


@register
class RBF(_LastAxis):
    name = "rbf"
    summary = "Euclidean RBF output units with fixed weights (LeNet-5's output layer)"
    category = "linear"
    neurons = True
    attrs = (
        Attr("out_features", Int(), doc="output units (classes)", aliases=("out",)),
        Attr("in_features", Int(), None, "optional check of the input size"),
    )
    flops_rule = "L * n_out * (3 n_in - 1)"
    connections_rule = "L * n_in * n_out"

    def params(self, a: Attrs, ins: list[Shape], out: Shape) -> Params:
        return Params(non_trainable=ins[0][-1] * a["out_features"])

    def macs(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return self._lead(ins) * ins[0][-1] * a["out_features"]

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return self._lead(ins) * a["out_features"] * (3 * ins[0][-1] - 1)

    def connections(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return self.macs(a, ins, out)

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        n_in, n_out = Term("n_in", ins[0][-1]), Term("n_out", a["out_features"])
        links = self._with_lead(n_in * n_out, ins)
        return counts(
            params=n_in * n_out,
            macs=links,
            flops=self._with_lead(Group(3 * n_in - 1) * n_out, ins),
            connections=links,
            notes={"params": "fixed (non-trainable) weights", "FLOPs": "per link: subtract, square; n_in − 1 adds"},
        )

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc import torch_modules as tm

        return tm.RBF(ins[0][-1], a["out_features"])

    def torch_import(self) -> tuple:
        from archcalc import torch_modules as tm

        def read(call) -> dict:
            out_features, in_features = call.module.weight.shape
            return {"out_features": out_features, "in_features": in_features}

        return (ImportRule(self.name, modules=(tm.RBF,), read=read),)
